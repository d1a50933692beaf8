"""Values read once per request: the market directory, pricing and category caches.

Inside a request (MarketMiddleware opens the scope) a cached value is fetched
from Redis and unpickled once, however many templates and functions ask for
it. Outside a request (commands, Celery tasks) nothing is memoized, so a
long-running process never keeps a stale copy.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")

_local = threading.local()


@contextmanager
def request_scope() -> Iterator[None]:
    _local.values = {}
    try:
        yield
    finally:
        _local.values = None


def memoized(key: str, load: Callable[[], T]) -> T:
    values: dict[str, Any] | None = getattr(_local, "values", None)
    if values is None:
        return load()
    if key not in values:
        values[key] = load()
    return values[key]  # type: ignore[no-any-return]


def memoized_many(keys: list[str], load: Callable[[list[str]], dict[str, T]]) -> dict[str, T]:
    """Values of ``keys``: those not memoized yet loaded together (``load(missing)``)."""
    values: dict[str, Any] | None = getattr(_local, "values", None)
    if values is None:
        return load(keys)
    missing = [key for key in keys if key not in values]
    if missing:
        values.update(load(missing))
    return {key: values[key] for key in keys}


def forget(prefix: str) -> None:
    """Drop memoized values whose key starts with ``prefix`` (the request changed them)."""
    values: dict[str, Any] | None = getattr(_local, "values", None)
    if values is not None:
        for key in [key for key in values if key.startswith(prefix)]:
            del values[key]
