"""/healthz answers load balancers (database, cache); /healthz/status answers support.

The public check never publishes error text, and neither a Celery outage
nor a cache outage takes the web process out of the load balancer.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator

import pytest
from django.db import connections

from shop.cache import circuit_breakers_reset
from shop.health import scheduled_task_names
from shop.tasks import health_heartbeat

STATUS_TOKEN = "status-token-for-tests"


@pytest.fixture
def dead_cache(settings) -> Iterator[None]:
    """The default cache pointed at a Redis that is not there."""
    settings.CACHES = {
        "default": {
            "BACKEND": "shop.cache.ResilientRedisCache",
            "LOCATION": "unix:///nonexistent/redis.sock",
            "KEY_PREFIX": "kervan-health-test",
        }
    }
    circuit_breakers_reset()
    yield
    circuit_breakers_reset()


@pytest.fixture
def database_down() -> Iterator[None]:
    connection = connections["default"]
    original_name = connection.settings_dict["NAME"]
    connection.close()
    connection.settings_dict["NAME"] = "kervan_database_that_does_not_exist"
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["NAME"] = original_name


def _bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


# /healthz


@pytest.mark.django_db
def test_healthz_is_ok_with_database_and_cache_even_without_any_worker(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["components"]) == {"database", "cache"}
    for part in body["components"].values():
        assert part == {"ok": True, "latency_ms": part["latency_ms"]}


@pytest.mark.django_db
def test_healthz_is_degraded_but_serving_when_the_cache_is_down(client, dead_cache):
    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["components"]["database"]["ok"] is True
    assert body["components"]["cache"]["ok"] is False
    assert "error" not in body["components"]["cache"]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_healthz_is_503_without_details_when_the_database_is_down(client, database_down, caplog):
    with caplog.at_level(logging.WARNING, logger="shop.health"):
        response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["components"]["database"]["ok"] is False
    assert body["components"]["cache"]["ok"] is True
    text = json.dumps(body)
    for leak in ("does not exist", "kervan_database", "error", "Error", "127.0.0.1", "/"):
        assert leak not in text.replace('"status": "error"', "")
    # The details go to the log instead.
    assert "does not exist" in caplog.text


# /healthz/status: who may see it


@pytest.mark.django_db
def test_status_is_forbidden_to_anonymous_callers_without_details(client, settings):
    settings.HEALTH_STATUS_TOKEN = STATUS_TOKEN

    for headers in ({}, _bearer("wrong"), _bearer(""), {"HTTP_AUTHORIZATION": STATUS_TOKEN}):
        response = client.get("/healthz/status", **headers)
        assert response.status_code == 403
        assert response.json() == {"status": "forbidden"}


@pytest.mark.django_db
def test_status_token_is_disabled_while_the_setting_is_empty(client, settings):
    settings.HEALTH_STATUS_TOKEN = ""

    assert client.get("/healthz/status", **_bearer("")).status_code == 403


@pytest.mark.django_db
def test_status_is_forbidden_to_signed_in_shoppers(client, django_user_model):
    shopper = django_user_model.objects.create_user("shopper", password="x")
    client.force_login(shopper)

    assert client.get("/healthz/status").status_code == 403


# /healthz/status: what it shows


@pytest.mark.django_db
def test_status_with_the_token_reports_the_missing_worker_and_beat(client, settings):
    settings.HEALTH_STATUS_TOKEN = STATUS_TOKEN
    # A task waiting in the queue, with no worker to take it.
    health_heartbeat.delay()

    response = client.get("/healthz/status", **_bearer(STATUS_TOKEN))

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    components = body["components"]
    assert components["database"]["ok"] is True
    assert components["cache"]["ok"] is True
    assert components["cache"]["circuit_open"] is False
    assert components["broker"]["ok"] is True
    assert components["queue"]["ok"] is True
    assert components["queue"]["name"] == "celery"
    assert components["queue"]["depth"] >= 1
    assert components["workers"]["ok"] is False
    assert components["workers"]["error"] == "WorkerUnavailable"
    assert components["beat"]["ok"] is False
    assert components["beat"]["last_heartbeat"] is None
    assert body["last_task_runs"] == dict.fromkeys(scheduled_task_names())
    assert {
        "invoicing.tasks.e_invoice_resend",
        "orders.tasks.outbox_process",
        "orders.tasks.reservations_expire",
        "pricing.tasks.listing_refresh",
        "pricing.tasks.update_exchange_rates",
        "shop.tasks.health_heartbeat",
        "shop.tasks.task_runs_prune",
    } <= set(body["last_task_runs"])


# Celery's Django fix-up closes database connections when a worker starts,
# which a test inside a transaction cannot survive: this test commits.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_status_for_staff_shows_workers_beat_and_last_runs(admin_client, celery_worker):
    # Given beat's heartbeat, run by the worker
    health_heartbeat.delay()
    deadline = time.monotonic() + 10
    while True:
        body = admin_client.get("/healthz/status").json()
        if body["last_task_runs"]["shop.tasks.health_heartbeat"] or time.monotonic() > deadline:
            break
        time.sleep(0.05)

    # Then everything is up
    assert body["status"] == "ok", body
    components = body["components"]
    assert components["workers"]["ok"] is True
    assert components["workers"]["names"]
    assert components["beat"]["ok"] is True
    assert 0 <= components["beat"]["age_seconds"] < 10
    assert body["last_task_runs"]["shop.tasks.health_heartbeat"]["state"] == "SUCCESS"


@pytest.mark.django_db
def test_status_names_the_error_class_when_the_cache_is_down(client, settings, dead_cache):
    settings.HEALTH_STATUS_TOKEN = STATUS_TOKEN

    response = client.get("/healthz/status", **_bearer(STATUS_TOKEN))

    assert response.status_code == 200
    cache_part = response.json()["components"]["cache"]
    assert cache_part["ok"] is False
    assert cache_part["error"] == "ConnectionError"
    assert "nonexistent" not in response.content.decode()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_status_with_the_token_answers_when_the_database_is_down(client, settings, database_down):
    settings.HEALTH_STATUS_TOKEN = STATUS_TOKEN

    response = client.get("/healthz/status", **_bearer(STATUS_TOKEN))

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["components"]["database"] == {
        "ok": False,
        "error": "OperationalError",
        "latency_ms": body["components"]["database"]["latency_ms"],
    }


def test_beat_runs_the_heartbeat(settings):
    entries = [
        e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == health_heartbeat.name
    ]
    assert entries == [
        {
            "task": "shop.tasks.health_heartbeat",
            "schedule": settings.HEALTH_HEARTBEAT_SECONDS,
            "options": {"expires": settings.HEALTH_HEARTBEAT_SECONDS},
        }
    ]
