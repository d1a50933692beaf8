"""Configuration every checkout reads, kept in each process's memory.

Delivery rules, shipping rates, duty rules, tax rates, exchange rates and
payment methods change a few times a day but are read on every cart and
checkout request. ``config_cached`` keeps such a value in the process (and
in the shared cache for the other processes), keyed by the version of the
concern it was built from (``shop.versions``): retiring the concern, which
the services and admin screens that change it do, makes every process
build it again on its next read. The version itself is read once per
request, together with the other shared concerns' versions.

Values are shared by every thread of the process: they must be immutable
(frozen dataclasses, tuples, mappings nobody changes). A value also expires
after ``timeout`` seconds, so a row changed behind the services' back (a
database shell) is seen within that time.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache import cache

from shop import versions

T = TypeVar("T")

TIMEOUT = 60 * 10
MAX_ENTRIES = 2048

_MISSING = object()
_lock = threading.Lock()
_entries: OrderedDict[str, tuple[float, Any]] = OrderedDict()


def config_cached(
    concerns: str | tuple[str, ...], key: str, build: Callable[[], T], *, timeout: int = TIMEOUT
) -> T:
    """``build()``'s value for ``key``, built at most once per version of ``concerns``
    (one concern, or several: a change to any of them builds it again)."""
    names = (concerns,) if isinstance(concerns, str) else concerns
    current = [versions.version(concern) for concern in names]
    if versions.UNKNOWN in current:  # the cache cannot be read: nothing is stored
        return build()
    shown = ".".join(str(number) for number in current)
    full_key = f"config:{names[0]}:{key}:v{shown}"
    now = time.monotonic()
    with _lock:
        entry = _entries.get(full_key)
        if entry is not None and entry[0] > now:
            _entries.move_to_end(full_key)
            return entry[1]  # type: ignore[no-any-return]
    value = cache.get(full_key, _MISSING)
    if value is _MISSING:
        value = build()
        cache.set(full_key, value, timeout)
    _remember(full_key, value, now + timeout)
    return value  # type: ignore[no-any-return]


def _remember(key: str, value: Any, expires: float) -> None:
    with _lock:
        _entries[key] = (expires, value)
        _entries.move_to_end(key)
        while len(_entries) > MAX_ENTRIES:
            _entries.popitem(last=False)


def config_cache_clear() -> None:
    """Forget the values held in this process (tests; the shared cache is not touched)."""
    with _lock:
        _entries.clear()
