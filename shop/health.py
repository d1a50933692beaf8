"""Health of the services the shop needs: database, Redis, Celery workers."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import redis
from django.conf import settings
from django.db import connections

from shop.celery import app as celery_app

TIMEOUT_SECONDS = 2.0


def _timed(check: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        result = {"ok": True, **check()}
    except Exception as error:
        result = {"ok": False, "error": f"{type(error).__name__}: {error}"}
    result["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


def _database() -> dict[str, Any]:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {}


def _redis() -> dict[str, Any]:
    client = redis.Redis.from_url(
        settings.REDIS_URL, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS
    )
    try:
        client.ping()
    finally:
        client.close()
    return {}


def _celery() -> dict[str, Any]:
    # limit=1: return as soon as one worker answers instead of waiting out the timeout.
    replies = celery_app.control.ping(timeout=TIMEOUT_SECONDS / 2, limit=1) or []
    workers = sorted(name for reply in replies for name in reply)
    if not workers:
        raise RuntimeError("no worker answered the ping")
    return {"workers": workers}


def health_report() -> dict[str, Any]:
    """Status of every component; ``ok`` is true only when all are up."""
    components = {"database": _timed(_database), "redis": _timed(_redis)}
    if components["redis"]["ok"]:
        components["celery"] = _timed(_celery)
    else:
        components["celery"] = {"ok": False, "error": "broker (Redis) unreachable"}
    return {"ok": all(c["ok"] for c in components.values()), "components": components}
