"""Health of the web process and of the services around it.

Two questions with two answers:

- ``readiness_report()`` (``/healthz``, for load balancers): can this web
  process serve shoppers? The database must answer; the cache may not (the
  shop runs without it, only slower: status ``degraded``, still HTTP 200).
  Celery is not asked: a worker outage delays background work but must not
  take every web node out of the load balancer.
- ``status_report()`` (``/healthz/status``, for support): the above plus the
  broker, the workers, the queue depth, beat's heartbeat and the last runs
  of scheduled tasks.

Checks have short timeouts. Failures are logged with their details; a
report carries at most the error's class name, and the public one not even
that.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import connections, transaction

from shop.celery import app as celery_app

logger = logging.getLogger(__name__)

BROKER_TIMEOUT_SECONDS = 1.0
WORKER_PING_SECONDS = 1.0

HEARTBEAT_CACHE_KEY = "health:beat-heartbeat"
LAST_RUN_CACHE_KEY = "health:last-run:"
# Beat is late when its heartbeat is older than this many intervals.
HEARTBEAT_MISSED_INTERVALS = 3

# Kombu keeps a Redis queue's priorities in sibling lists: "celery", "celery\x06\x163", …
_PRIORITY_SEPARATOR = "\x06\x16"
_PRIORITY_STEPS = (0, 3, 6, 9)


def _check(name: str, check: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run ``check``: up unless it raises (or answers ``ok: False`` itself)."""
    started = time.perf_counter()
    try:
        result = {"ok": True, **check()}
    except Exception as error:
        logger.warning("Health check %s failed: %s: %s", name, type(error).__name__, error)
        result = {"ok": False, "error": type(error).__name__}
    result["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


def _database() -> dict[str, Any]:
    with transaction.atomic(), connections["default"].cursor() as cursor:
        cursor.execute("SET LOCAL statement_timeout = '2s'")
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {}


def _cache() -> dict[str, Any]:
    ping = getattr(cache, "ping", None)
    if ping is not None:  # shop.cache.ResilientRedisCache: ask Redis past the circuit
        ping()
        return {"circuit_open": not getattr(cache, "is_available", True)}
    cache.set("health:probe", 1, 10)
    if cache.get("health:probe") != 1:
        raise RuntimeError("cache did not keep a value")
    return {}


def _overall(components: dict[str, dict[str, Any]]) -> str:
    if not components["database"]["ok"]:
        return "error"
    return "ok" if all(part["ok"] for part in components.values()) else "degraded"


def readiness_report() -> dict[str, Any]:
    """Database and cache of this web process; ``status`` is ok, degraded or error."""
    components = {"database": _check("database", _database), "cache": _check("cache", _cache)}
    return {"status": _overall(components), "components": components}


def public_report(report: dict[str, Any]) -> dict[str, Any]:
    """The report without error names or anything else beyond up, down and latency."""
    return {
        "status": report["status"],
        "components": {
            name: {"ok": part["ok"], "latency_ms": part["latency_ms"]}
            for name, part in report["components"].items()
        },
    }


def _broker_client() -> redis.Redis:
    return redis.Redis.from_url(
        settings.REDIS_URL,
        socket_timeout=BROKER_TIMEOUT_SECONDS,
        socket_connect_timeout=BROKER_TIMEOUT_SECONDS,
    )


def _broker() -> dict[str, Any]:
    client = _broker_client()
    try:
        client.ping()
    finally:
        client.close()
    return {}


def _queue() -> dict[str, Any]:
    queue = celery_app.conf.task_default_queue
    names = [
        queue if step == 0 else f"{queue}{_PRIORITY_SEPARATOR}{step}" for step in _PRIORITY_STEPS
    ]
    client = _broker_client()
    try:
        pipeline = client.pipeline(transaction=False)
        for name in names:
            pipeline.llen(name)
        depth = sum(pipeline.execute())
    finally:
        client.close()
    return {"name": queue, "depth": depth}


def _workers() -> dict[str, Any]:
    # limit=1: return as soon as one worker answers instead of waiting out the timeout.
    replies = celery_app.control.ping(timeout=WORKER_PING_SECONDS, limit=1) or []
    workers = sorted(name for reply in replies for name in reply)
    if not workers:
        raise WorkerUnavailable
    return {"names": workers}


class WorkerUnavailable(Exception):
    """No Celery worker answered the ping."""


def _beat() -> dict[str, Any]:
    beaten_at = cache.get(HEARTBEAT_CACHE_KEY)
    if beaten_at is None:
        return {"ok": False, "last_heartbeat": None, "age_seconds": None}
    age = max(0.0, time.time() - float(beaten_at))
    return {
        "ok": age <= HEARTBEAT_MISSED_INTERVALS * settings.HEALTH_HEARTBEAT_SECONDS,
        "last_heartbeat": datetime.fromtimestamp(float(beaten_at), UTC).isoformat(),
        "age_seconds": round(age, 1),
    }


def _skipped(reason: str) -> dict[str, Any]:
    return {"ok": False, "error": reason, "latency_ms": 0.0}


def heartbeat_record() -> None:
    """Beat's proof of life (run by the ``shop.tasks.health_heartbeat`` task)."""
    cache.set(HEARTBEAT_CACHE_KEY, time.time(), None)


def task_run_record(*, task_name: str, state: str) -> None:
    """Remember when a scheduled task last finished, and how."""
    cache.set(
        LAST_RUN_CACHE_KEY + task_name,
        {"finished_at": datetime.now(UTC).isoformat(), "state": state},
        None,
    )


def scheduled_task_names() -> list[str]:
    return sorted({entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()})


def _last_task_runs() -> dict[str, Any]:
    names = scheduled_task_names()
    found = cache.get_many([LAST_RUN_CACHE_KEY + name for name in names])
    return {name: found.get(LAST_RUN_CACHE_KEY + name) for name in names}


def status_report() -> dict[str, Any]:
    """Everything support needs to know; error class names but no messages."""
    components = readiness_report()["components"]
    components["broker"] = _check("broker", _broker)
    if components["broker"]["ok"]:
        components["queue"] = _check("queue", _queue)
        components["workers"] = _check("workers", _workers)
    else:
        components["queue"] = _skipped("BrokerUnavailable")
        components["workers"] = _skipped("BrokerUnavailable")
    components["beat"] = _check("beat", _beat)
    return {
        "status": _overall(components),
        "components": components,
        "last_task_runs": _last_task_runs(),
    }
