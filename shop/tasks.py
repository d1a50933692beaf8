"""Background jobs of the core: beat's heartbeat for /healthz/status."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from celery.signals import task_postrun

from shop.health import heartbeat_record, scheduled_task_names, task_run_record


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
