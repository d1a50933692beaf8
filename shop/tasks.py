"""Background jobs of the core: beat's heartbeat for /healthz/status; the retry policy
of tasks that talk to other servers."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from celery.signals import task_postrun

from shop import task_runs
from shop.health import heartbeat_record, scheduled_task_names, task_run_record

RETRIES = 12  # with backoff from 30 s up to an hour: about a day in all


def retrying_task(*errors: type[BaseException], bind: bool = False, time_limit: int = 120) -> Any:
    """``shared_task`` for work another server must accept (a mail server, an
    e-invoice provider): acknowledged late, retried on ``errors`` with
    exponential backoff and jitter."""
    options: dict[str, Any] = {"bind": bind}  # one call for both of shared_task's overloads
    return shared_task(
        **options,
        acks_late=True,
        autoretry_for=errors,
        retry_backoff=30,
        retry_backoff_max=60 * 60,
        retry_jitter=True,
        max_retries=RETRIES,
        time_limit=time_limit,
    )


@shared_task
def task_runs_prune() -> int:
    """Forget task runs older than TASK_RUN_KEEP_DAYS (daily)."""
    return task_runs.task_runs_prune()


@shared_task(ignore_result=True)
def health_heartbeat() -> None:
    """Record that beat scheduled and a worker ran this (every HEALTH_HEARTBEAT_SECONDS)."""
    heartbeat_record()


# Monitoring only: the last run of each scheduled task, for /healthz/status.
@task_postrun.connect
def _record_scheduled_task_run(sender: Any = None, state: str | None = None, **_: Any) -> None:
    name = getattr(sender, "name", None)
    if name in scheduled_task_names():
        task_run_record(task_name=name, state=state or "UNKNOWN")
