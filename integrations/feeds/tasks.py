"""Background jobs of product feeds: build one feed; build every active feed (hourly)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from celery import shared_task

from integrations.feeds.services import FeedBusy, feed_config_ids_active
from integrations.feeds.services import feed_build as build
from shop.task_runs import task_progress

BUILD_TIME_LIMIT = 60 * 60  # a 100,000-variant feed takes minutes; an hour means it hangs


@shared_task(acks_late=True, time_limit=BUILD_TIME_LIMIT)
def feed_build(config_id: int) -> dict[str, Any]:
    """Build feed ``config_id`` and swap it in; progress in the task run log.

    Idempotent: a repeated run writes a fresh file and serves the newest; a run
    asked while the same feed is being built does nothing (the running build
    already reads the latest data)."""
    try:
        return asdict(build(config_id=config_id, progress=task_progress))
    except FeedBusy as busy:
        return {"skipped": str(busy)}


@shared_task
def feeds_build_active() -> int:
    """Queue a build of every active feed (hourly, from beat); how many were queued.

    One task per feed, so feeds build in parallel and one failing feed does
    not hold up the others."""
    config_ids = feed_config_ids_active()
    for config_id in config_ids:
        feed_build.delay(config_id)
    return len(config_ids)
