"""Configuration kept in each process's memory, keyed by the version of what it was built from."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from shop import config_cache, versions
from shop.config_cache import config_cached


class Builds:
    """A value builder that counts its calls."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> tuple[str, int]:
        self.count += 1
        return ("built", self.count)


def test_a_value_is_built_once_until_its_concern_is_retired():
    build = Builds()

    first = config_cached(versions.SHIPPING, "zones", build)
    again = config_cached(versions.SHIPPING, "zones", build)
    versions.retire_now(versions.PRICING)  # another concern: kept
    kept = config_cached(versions.SHIPPING, "zones", build)
    versions.retire_now(versions.SHIPPING)
    rebuilt = config_cached(versions.SHIPPING, "zones", build)

    assert first == again == kept == ("built", 1)
    assert rebuilt == ("built", 2)


def test_a_value_of_several_concerns_follows_each_of_them():
    build = Builds()
    concerns = (versions.SHIPPING, versions.MARKETS)

    config_cached(concerns, "check", build)
    versions.retire_now(versions.MARKETS)
    config_cached(concerns, "check", build)

    assert build.count == 2


def test_other_processes_take_the_value_from_the_shared_cache():
    build = Builds()
    config_cached(versions.PAYMENTS, "methods", build)

    config_cache.config_cache_clear()  # as another process: nothing in its memory
    value = config_cached(versions.PAYMENTS, "methods", build)

    assert (value, build.count) == (("built", 1), 1)


def test_a_flushed_cache_never_brings_back_a_value_held_in_memory():
    # Given a value held in this process's memory
    build = Builds()
    config_cached(versions.EXCHANGE_RATES, "latest", build)

    # When Redis loses everything (restart, flush): the counters start again
    cache.clear()

    # Then they start at a new random number, and the value is built again
    assert config_cached(versions.EXCHANGE_RATES, "latest", build) == ("built", 2)


def test_values_expire(monkeypatch):
    build = Builds()

    config_cached(versions.SHIPPING, "short", build, timeout=0)
    config_cached(versions.SHIPPING, "short", build, timeout=0)

    assert build.count == 2


def test_memory_holds_a_bounded_number_of_values(monkeypatch):
    monkeypatch.setattr(config_cache, "MAX_ENTRIES", 2)
    for key in ("a", "b", "c"):
        config_cached(versions.SHIPPING, key, Builds())

    assert len(config_cache._entries) == 2
    assert not any(":a:" in key for key in config_cache._entries)


def test_nothing_is_kept_when_the_versions_cannot_be_read(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "unix:///nonexistent/redis.sock",
        }
    }
    build = Builds()

    config_cached(versions.SHIPPING, "zones", build)
    config_cached(versions.SHIPPING, "zones", build)

    assert build.count == 2
    assert not config_cache._entries


@pytest.mark.parametrize("concern", [versions.SHIPPING, versions.CATALOGUE])
def test_a_request_reads_the_shared_versions_in_one_round_trip(concern, monkeypatch):
    from shop.request_memo import request_scope

    calls = []
    real = cache.get_many
    monkeypatch.setattr(cache, "get_many", lambda keys: calls.append(keys) or real(keys))
    with request_scope():
        for shared in (versions.SHIPPING, versions.PAYMENTS, versions.MARKETS, concern):
            versions.version(shared)

    assert len(calls) == 1


def test_the_redis_client_is_reused_between_calls():
    client = cache._cache  # type: ignore[attr-defined]

    assert client.get_client() is client.get_client()
    assert client.get_client(write=True) is client.get_client(write=True)


def test_new_versions_start_together_and_a_racing_start_wins(monkeypatch):
    from shop.request_memo import request_scope

    concerns = [versions.stock(variant_id) for variant_id in range(900001, 900031)]
    cache.set("version:" + concerns[0], 777, None)  # started by somebody else meanwhile
    calls = []
    real = cache.add_many
    monkeypatch.setattr(
        cache, "add_many", lambda data, timeout: calls.append(data) or real(data, timeout)
    )

    with request_scope():
        first = versions.versions(concerns)
    with request_scope():
        again = versions.versions(concerns)

    assert len(calls) == 1 and len(calls[0]) == 29  # one round trip for the 29 never seen
    assert first == again and first[concerns[0]] == 777
    assert versions.UNKNOWN not in first.values() and len(set(first.values())) == 30


def test_add_many_keeps_what_is_set_and_reads_nothing_while_redis_is_out(monkeypatch):
    cache.set("kept", "old")

    assert cache.add_many({"kept": "new", "fresh": 5}, 60) == {"kept": "old", "fresh": 5}

    monkeypatch.setattr(cache.breaker, "allows_call", lambda: False)
    assert cache.add_many({"other": 1}, 60) == {}
