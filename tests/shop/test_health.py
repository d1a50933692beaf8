"""/healthz reports the database, Redis and a Celery ping round-trip."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import connections

from shop.celery import app as celery_app


@pytest.fixture
def celery_worker() -> Iterator[None]:
    """A real worker thread on the real Redis broker."""
    with start_worker(celery_app, pool="solo", perform_ping_check=False, loglevel="WARNING"):
        yield


# Celery's Django fix-up closes database connections when a worker starts,
# which a test inside a transaction cannot survive: these tests commit.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_healthy_when_database_redis_and_a_worker_answer(client, celery_worker):
    response = client.get("/healthz")

    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert {name: part["ok"] for name, part in body["components"].items()} == {
        "database": True,
        "redis": True,
        "celery": True,
    }
    assert body["components"]["celery"]["workers"]


@pytest.mark.django_db
def test_unhealthy_when_no_worker_answers(client):
    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["components"]["database"]["ok"] is True
    assert body["components"]["redis"]["ok"] is True
    assert body["components"]["celery"] == {
        "ok": False,
        "error": "RuntimeError: no worker answered the ping",
        "latency_ms": body["components"]["celery"]["latency_ms"],
    }


@pytest.mark.django_db
def test_unhealthy_when_redis_is_down(client, settings):
    settings.REDIS_URL = "unix:///nonexistent/redis.sock"

    response = client.get("/healthz")

    assert response.status_code == 503
    components = response.json()["components"]
    assert components["redis"]["ok"] is False
    assert components["celery"] == {"ok": False, "error": "broker (Redis) unreachable"}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_unhealthy_when_the_database_is_down(client, celery_worker):
    connection = connections["default"]
    original_name = connection.settings_dict["NAME"]
    connection.close()
    connection.settings_dict["NAME"] = "kervan_database_that_does_not_exist"
    try:
        response = client.get("/healthz")
    finally:
        connection.close()
        connection.settings_dict["NAME"] = original_name

    assert response.status_code == 503
    components = response.json()["components"]
    assert components["database"]["ok"] is False
    assert "does not exist" in components["database"]["error"]
    assert components["redis"]["ok"] is True
