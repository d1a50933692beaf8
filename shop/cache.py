"""A Redis cache that costs speed, never sales, when Redis stalls or dies.

Django's ``RedisCache`` waits as long as the socket lets it and raises on
any Redis error, so a frozen Redis turns every page into a 500 after the
socket gives up. ``ResilientRedisCache`` gives each call a short socket
timeout (``CACHE_SOCKET_TIMEOUT``) and a circuit breaker: the first failure
is logged once and opens the circuit; while it is open reads are misses,
writes are skipped and nothing waits on Redis. Every ``CACHE_RETRY_AFTER``
seconds one call tries Redis again; when it answers, the circuit closes and
the invalidations skipped meanwhile (deletes, counter increments) are
replayed, so no value outlives a change made during the outage.

Everything the shop keeps in the cache can be rebuilt from PostgreSQL, so a
miss is always a correct answer, only a slower one.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

T = TypeVar("T")

# What a stalled, dead or refusing Redis raises (socket errors surface as
# redis.ConnectionError/TimeoutError, but a bare OSError can slip through).
CACHE_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError)

# Invalidations remembered during an outage; beyond this, values may be
# served stale until they expire (logged once).
MAX_PENDING_INVALIDATIONS = 10_000


class CircuitBreaker:
    """Shared by every thread of a process for one cache location."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.Lock()
        self.is_open = False
        self._retry_at = 0.0
        self._pending_deletes: set[str] = set()
        self._pending_increments: dict[str, int] = {}
        self._overflowed = False

    def allows_call(self) -> bool:
        """True when Redis may be asked: the circuit is closed, or it is time for one retry."""
        if not self.is_open:
            return True
        with self._lock:
            now = time.monotonic()
            if now < self._retry_at:
                return False
            # This caller is the probe; the others keep skipping Redis meanwhile.
            self._retry_at = now + _retry_after()
            return True

    def trip(self, error: BaseException) -> None:
        with self._lock:
            first = not self.is_open
            self.is_open = True
            self._retry_at = time.monotonic() + _retry_after()
        if first:
            logger.warning(
                "Cache %s unavailable (%s: %s); serving from the database, retrying every %ss",
                self.name,
                type(error).__name__,
                error,
                _retry_after(),
            )

    def pending(self) -> tuple[set[str], dict[str, int]]:
        """The invalidations missed so far (copies: they stay pending until ``settle``)."""
        with self._lock:
            return set(self._pending_deletes), dict(self._pending_increments)

    def settle(self, deletes: set[str], increments: dict[str, int]) -> bool:
        """``deletes`` and ``increments`` were replayed: forget them, and close the
        circuit unless others were remembered meanwhile (False: replay those too)."""
        with self._lock:
            self._pending_deletes -= deletes
            for key, delta in increments.items():
                left = self._pending_increments.get(key, 0) - delta
                if left:
                    self._pending_increments[key] = left
                else:
                    self._pending_increments.pop(key, None)
            if self._pending_deletes or self._pending_increments:
                return False
            was_open, self.is_open = self.is_open, False
            self._overflowed = False
        if was_open:
            logger.info("Cache %s available again", self.name)
        return True

    def remember(
        self, *, deletes: Iterable[str] = (), increments: dict[str, int] | None = None
    ) -> None:
        with self._lock:
            pending = len(self._pending_deletes) + len(self._pending_increments)
            if pending >= MAX_PENDING_INVALIDATIONS:
                if not self._overflowed:
                    self._overflowed = True
                    logger.warning(
                        "Cache %s: too many invalidations during the outage; "
                        "some values may be served stale until they expire",
                        self.name,
                    )
                return
            self._pending_deletes.update(deletes)
            for key, delta in (increments or {}).items():
                self._pending_increments[key] = self._pending_increments.get(key, 0) + delta

    def reset(self) -> None:
        with self._lock:
            self.is_open = False
            self._retry_at = 0.0
            self._pending_deletes.clear()
            self._pending_increments.clear()
            self._overflowed = False


_breakers: dict[str, CircuitBreaker] = {}
_breakers_lock = threading.Lock()


def circuit_breaker(name: str) -> CircuitBreaker:
    with _breakers_lock:
        if name not in _breakers:
            _breakers[name] = CircuitBreaker(name)
        return _breakers[name]


def circuit_breakers_reset() -> None:
    """Close every circuit and forget pending invalidations (for tests)."""
    with _breakers_lock:
        for breaker in _breakers.values():
            breaker.reset()


def _retry_after() -> float:
    return float(getattr(settings, "CACHE_RETRY_AFTER", 5))


def socket_options() -> dict[str, float]:
    """Redis client options for a cache that must not hold a request up."""
    timeout = float(getattr(settings, "CACHE_SOCKET_TIMEOUT", 0.25))
    return {"socket_timeout": timeout, "socket_connect_timeout": timeout}


class _ReusedClientRedisCacheClient(RedisCacheClient):
    """Django's client builds a ``redis.Redis`` object (about 170 response
    callbacks) for every call; one per connection pool is enough: it is
    thread-safe and borrows a connection from its pool for each command."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client


class ResilientRedisCache(RedisCache):
    """``RedisCache`` with short timeouts and a circuit breaker (see the module docstring).

    While the circuit is open: ``get`` returns the default, ``get_many`` an
    empty dict, ``add``/``touch``/``has_key``/``delete`` ``False``, ``set``
    and ``set_many`` do nothing, and ``incr`` raises ``ValueError`` as for a
    missing key.
    """

    # Django's internals, untyped in django-stubs.
    _servers: list[str]
    _cache: Any

    def __init__(self, server: str | list[str], params: dict[str, Any]) -> None:
        params = {**params, "OPTIONS": {**socket_options(), **params.get("OPTIONS", {})}}
        super().__init__(server, params)
        self._class = _ReusedClientRedisCacheClient
        self.breaker = circuit_breaker(f"{','.join(self._servers)}/{self.key_prefix}")

    def validate_key(self, key: Any) -> None:
        """Accept every key: Redis keys may hold any bytes. Django's check warns about
        keys memcached would refuse, reading each key's characters, which cost a
        listing page (a hundred keys: cards, stock versions) about 0.2 ms."""

    @property
    def is_available(self) -> bool:
        """False while the circuit is open (Redis failed and has not answered since)."""
        return not self.breaker.is_open

    def ping(self) -> None:
        """Ask Redis directly, bypassing the circuit; raises what Redis raises."""
        self._cache.get_client(write=True).ping()

    def _guarded(
        self,
        call: Callable[[], T],
        fallback: Callable[[], T],
        *,
        deletes: Iterable[str] = (),
        increments: dict[str, int] | None = None,
    ) -> T:
        if not self.breaker.allows_call():
            self.breaker.remember(deletes=deletes, increments=increments)
            return fallback()
        if self.breaker.is_open and not self._replay():
            # Redis is still out (the probe's replay failed; the outage was logged once).
            self.breaker.remember(deletes=deletes, increments=increments)
            return fallback()
        try:
            result = call()
        except CACHE_ERRORS as error:
            self.breaker.trip(error)
            self.breaker.remember(deletes=deletes, increments=increments)
            return fallback()
        if self.breaker.is_open:  # this probe reached Redis: the outage is over
            self.breaker.settle(set(), {})
        return result

    def _replay(self) -> bool:
        """Redis may be back: replay what was missed before this probe's own call, so
        that the call already reads what changed during the outage (e.g. a version).
        False when Redis is still out."""
        while True:
            deletes, increments = self.breaker.pending()
            if not deletes and not increments:
                return True  # nothing missed: the probe's own call tells whether Redis is back
            try:
                if deletes:
                    self._cache.delete_many(sorted(deletes))
                for key, delta in sorted(increments.items()):
                    with contextlib.suppress(ValueError):  # gone meanwhile: any new value is new
                        self._cache.incr(key, delta)
            except CACHE_ERRORS as error:
                self.breaker.trip(error)
                return False
            if self.breaker.settle(deletes, increments):
                return True

    def add(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> Any:
        return self._guarded(partial(super().add, key, value, timeout, version), lambda: False)

    def add_many(self, data: dict[str, Any], timeout: Any = DEFAULT_TIMEOUT) -> dict[str, Any]:
        """Set each key of ``data`` that is not set yet; every key's value, one round trip.

        Values already set win (as ``add`` does); an unavailable cache gives ``{}``.
        """
        if not data:
            return {}
        made = {self.make_and_validate_key(key): key for key in data}

        def call() -> dict[str, Any]:
            client = self._cache.get_client(write=True)
            seconds = self.get_backend_timeout(timeout)
            pipeline = client.pipeline(transaction=False)
            for key, original in made.items():
                value = self._cache._serializer.dumps(data[original])
                pipeline.set(key, value, nx=True, ex=seconds)
            pipeline.mget(list(made))
            values = pipeline.execute()[-1]
            return {
                made[key]: self._cache._serializer.loads(value)
                for key, value in zip(made, values, strict=True)
                if value is not None
            }

        return self._guarded(call, dict)

    def get(self, key: Any, default: Any = None, version: Any = None) -> Any:
        return self._guarded(partial(super().get, key, default, version), lambda: default)

    def set(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> None:
        self._guarded(partial(super().set, key, value, timeout, version), lambda: None)

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> Any:
        return self._guarded(partial(super().touch, key, timeout, version), lambda: False)

    def delete(self, key: Any, version: Any = None) -> Any:
        made = self.make_and_validate_key(key, version=version)
        return self._guarded(partial(super().delete, key, version), lambda: False, deletes=[made])

    def get_many(self, keys: Any, version: Any = None) -> Any:
        return self._guarded(partial(super().get_many, keys, version), dict)

    def has_key(self, key: Any, version: Any = None) -> Any:
        return self._guarded(partial(super().has_key, key, version), lambda: False)

    def incr(self, key: Any, delta: int = 1, version: Any = None) -> Any:
        made = self.make_and_validate_key(key, version=version)

        def unavailable() -> int:
            raise ValueError(f"Key {key!r} not found (the cache is unavailable).")

        return self._guarded(
            partial(super().incr, key, delta, version), unavailable, increments={made: delta}
        )

    def set_many(self, data: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> Any:
        return self._guarded(partial(super().set_many, data, timeout, version), list)

    def delete_many(self, keys: Any, version: Any = None) -> None:
        keys = list(keys)
        made = [self.make_and_validate_key(key, version=version) for key in keys]
        self._guarded(partial(super().delete_many, keys, version), lambda: None, deletes=made)

    def clear(self) -> Any:
        return self._guarded(super().clear, lambda: False)
