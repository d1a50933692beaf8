"""The task run log: every background task's runs, kept for support in the admin.

Celery's signals record each run of each task in ``shop.TaskRun``: when it
started and finished, its state, a summary of its result or its error.
Tasks that beat runs every few minutes or more often (outbox relays,
listing refresh, the heartbeat) are recorded only when they did something
or failed, so the log says what happened without thousands of empty rows.
A long task reports how far it has got with ``task_progress(done, total)``;
the admin shows it as a bar. Runs older than ``TASK_RUN_KEEP_DAYS`` are
deleted daily (``shop.tasks.task_runs_prune``).
"""

from __future__ import annotations

import json
import logging
import time
import traceback
from datetime import timedelta
from typing import Any

from celery import current_task
from celery.schedules import crontab
from celery.schedules import schedule as interval_schedule
from celery.signals import task_failure, task_postrun, task_prerun, task_retry
from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone
from django.utils.translation import gettext

from shop.models import TaskRun

logger = logging.getLogger(__name__)

QUIET_BELOW_SECONDS = 300  # beat tasks scheduled more often are recorded only when they act
PROGRESS_EVERY_SECONDS = 1.0  # at most one progress write a second per run
TEXT_LIMIT = 4000

_started: dict[str, Any] = {}  # task id → start time of quiet runs, in this worker process
_progress_written: dict[str, float] = {}


def quiet_task_names() -> set[str]:
    """Tasks beat runs at least every QUIET_BELOW_SECONDS."""
    names = set()
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        every = entry["schedule"]
        if isinstance(every, interval_schedule):
            every = every.seconds
        if isinstance(every, int | float) and every < QUIET_BELOW_SECONDS:
            names.add(entry["task"])
    return names


def _summary(value: Any) -> str:
    """A task's return value as support reads it: JSON where it can be."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value[:TEXT_LIMIT]
    try:
        text = json.dumps(value, default=str, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text[:TEXT_LIMIT]


# Keys of a result that name or time the work rather than count it.
NOT_WORK = frozenset({"seconds", "skipped", "busy", "marketplace", "market", "feed", "name"})


def acted(value: Any) -> bool:
    """Whether a task's result says it did something: a count above zero, a non-empty
    text or list, anywhere in it, except under keys that only name or time the
    run (``{"written": 0, "seconds": 0.1}`` did nothing)."""
    if hasattr(value, "__dataclass_fields__"):
        value = {name: getattr(value, name) for name in value.__dataclass_fields__}
    if isinstance(value, dict):
        return any(acted(item) for key, item in value.items() if key not in NOT_WORK)
    if isinstance(value, list | tuple | set):
        return any(acted(item) for item in value)
    return bool(value)


def _safely(action: Any, *args: Any, **kwargs: Any) -> None:
    """The log must never fail a task: a database error here is logged and dropped."""
    try:
        action(*args, **kwargs)
    except DatabaseError as error:
        logger.warning("Task run log not written: %s", error)


@task_prerun.connect
def _run_started(task_id: str = "", task: Any = None, **_: Any) -> None:
    name = getattr(task, "name", "")
    if not task_id or not name:
        return
    if name in quiet_task_names():
        _started[task_id] = timezone.now()
        return
    hostname = getattr(getattr(task, "request", None), "hostname", "") or ""
    _safely(
        TaskRun.objects.update_or_create,
        task_id=task_id,
        defaults={
            "task_name": name,
            "state": TaskRun.State.RUNNING,
            "started_at": timezone.now(),
            "finished_at": None,
            "error": "",
            "worker": hostname[:200],
        },
    )


@task_postrun.connect
def _run_finished(
    task_id: str = "", task: Any = None, retval: Any = None, state: str = "", **_: Any
) -> None:
    name = getattr(task, "name", "")
    if not task_id or not name:
        return
    _progress_written.pop(task_id, None)
    outcome = {
        "SUCCESS": TaskRun.State.SUCCESS,
        "FAILURE": TaskRun.State.FAILURE,
        "RETRY": TaskRun.State.RETRY,
    }.get(state, TaskRun.State.FAILURE)
    fields: dict[str, Any] = {"state": outcome, "finished_at": timezone.now()}
    if outcome == TaskRun.State.SUCCESS:
        fields["result"] = _summary(retval)
    started = _started.pop(task_id, None)
    if started is not None:  # a quiet task: kept only when it acted or failed
        if outcome == TaskRun.State.SUCCESS and not acted(retval):
            return
        _safely(
            TaskRun.objects.update_or_create,
            task_id=task_id,
            defaults={"task_name": name, "started_at": started, **fields},
        )
        return
    _safely(TaskRun.objects.filter(task_id=task_id).update, **fields)


@task_failure.connect
def _run_failed(task_id: str = "", exception: Any = None, einfo: Any = None, **_: Any) -> None:
    if not task_id:
        return
    text = f"{type(exception).__name__}: {exception}"
    if einfo is not None:
        text += "\n\n" + "".join(traceback.format_tb(einfo.tb))[-TEXT_LIMIT:]
    error = text[:TEXT_LIMIT]
    if task_id in _started:  # a quiet task's row is written at postrun
        _safely(
            TaskRun.objects.update_or_create,
            task_id=task_id,
            defaults={
                "task_name": getattr(current_task, "name", "") or "",
                "state": TaskRun.State.FAILURE,
                "started_at": _started[task_id],
                "error": error,
            },
        )
        return
    _safely(TaskRun.objects.filter(task_id=task_id).update, error=error)


@task_retry.connect
def _run_retried(request: Any = None, reason: Any = None, **_: Any) -> None:
    task_id = getattr(request, "id", "")
    if task_id:
        _safely(
            TaskRun.objects.filter(task_id=task_id).update,
            error=f"{type(reason).__name__}: {reason}"[:TEXT_LIMIT],
        )


def task_progress(done: int, total: int) -> None:
    """Report how far the running task has got (``done`` of ``total`` items).

    Written at most once a second (and always at the end), outside any
    transaction of the task's own: call it between batches, not inside a
    long ``atomic`` block. Does nothing outside a Celery task.
    """
    request = getattr(current_task, "request", None)
    task_id = getattr(request, "id", None)
    if not task_id:
        return
    now = time.monotonic()
    last = _progress_written.get(task_id, 0.0)
    if done < total and now - last < PROGRESS_EVERY_SECONDS:
        return
    _progress_written[task_id] = now
    _safely(TaskRun.objects.filter(task_id=task_id).update, done=max(0, done), total=max(0, total))


def task_runs_prune(*, keep_days: int | None = None) -> int:
    """Delete runs older than ``keep_days`` (TASK_RUN_KEEP_DAYS); returns how many."""
    days = settings.TASK_RUN_KEEP_DAYS if keep_days is None else keep_days
    cutoff = timezone.now() - timedelta(days=days)
    deleted, _ = TaskRun.objects.filter(started_at__lt=cutoff).delete()
    return deleted


def last_runs(task_names: list[str]) -> dict[str, TaskRun]:
    """The latest recorded run of each of ``task_names`` (one query)."""
    runs = TaskRun.objects.filter(task_name__in=task_names).order_by("task_name", "-started_at")
    return {run.task_name: run for run in runs.distinct("task_name")}


def schedule_shown(every: Any) -> str:
    """How often beat runs an entry, as support reads it."""
    if isinstance(every, interval_schedule) and not isinstance(every, crontab):
        every = every.seconds
    if isinstance(every, crontab):
        parts = ("minute", "hour", "day_of_month", "month_of_year", "day_of_week")
        fields = [getattr(every, f"_orig_{part}", "*") for part in parts]
        return gettext("cron %(fields)s (%(zone)s)") % {
            "fields": " ".join(str(field) for field in fields),
            "zone": settings.CELERY_TIMEZONE or "UTC",
        }
    seconds = float(every)
    if seconds < 120:
        return gettext("every %(seconds)d s") % {"seconds": seconds}
    if seconds < 7200:
        return gettext("every %(minutes)d min") % {"minutes": seconds // 60}
    return gettext("every %(hours)d h") % {"hours": seconds // 3600}


def schedule_rows() -> list[dict[str, Any]]:
    """Beat's schedule with each entry's last recorded run (quiet tasks appear
    only when they last acted or failed)."""
    entries = sorted(settings.CELERY_BEAT_SCHEDULE.items())
    runs = last_runs([entry["task"] for _name, entry in entries])
    return [
        {
            "name": name,
            "task": entry["task"],
            "every": schedule_shown(entry["schedule"]),
            "quiet": entry["task"] in quiet_task_names(),
            "last": runs.get(entry["task"]),
        }
        for name, entry in entries
    ]
