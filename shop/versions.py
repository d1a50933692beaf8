"""Cache versions, one per concern, retired explicitly by the services that change it.

A cached value puts the version of what it was built from in its key (or
stores it beside itself), so moving a version on retires every value built
from the old one at once. Each concern has its own version: an order that
takes stock moves only the versions of the variants it bought, never the
catalogue's, a price list's or the category tree's.

- ``CATEGORY_TREE``: category changes; read by navigation and category pages.
- ``CATALOGUE``: product, brand, attribute, image and text changes; read by
  card texts, facets and product page data.
- ``MARKETS``: market and market-country changes; read by every storefront
  page (market selector, display rules).
- ``PRICING``: which lists and pools a market uses, tax rates; read by market
  pricing, tax tables and every page with prices.
- ``price_list(id)``: a price of that list; read by pages showing its prices.
- ``stock(variant id)``: that variant's stock or reservations; read by pages
  showing that variant.
- ``listing(context id)``, ``listing_members(context id)``: rows of the
  listing table of a market country (and customer group), retired by its
  upkeep when rows change (``listing_members`` only when products come,
  go, or change their categories, facet values or texts); read by listing
  counts, facets and page orders.
- ``SHIPPING``: delivery regions, postal-code rules, methods, zones, rates,
  customs areas and duty rules; read by the address check, shipping options
  and duty at checkout.
- ``PAYMENTS``: payment methods; read by checkout.
- ``EXCHANGE_RATES``: exchange rates; read by checkout (conversions, the
  order's rate snapshot).

A counter that is missing (never set, evicted, or the cache was flushed)
starts at a random number, never at a fixed one: a value built from a
version before the flush, still held in a process's own memory
(``shop.config_cache``), can never be taken for a value of the new counter.

Retiring happens after the current transaction commits, so no reader builds
a value from data that is about to be rolled back or is not yet visible.

When the cache cannot be read, a version is ``UNKNOWN`` (0, never a
counter's value). Values built then are not stored (see ``is_known``),
so an outage costs speed, never a stale or failed page.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.cache import cache
from django.db import transaction

from shop.cache import CACHE_ERRORS
from shop.request_memo import forget, memoized, memoized_many

logger = logging.getLogger(__name__)

CATEGORY_TREE = "category-tree"
CATALOGUE = "catalogue"
MARKETS = "markets"
PRICING = "pricing"
SHIPPING = "shipping"
PAYMENTS = "payments"
EXCHANGE_RATES = "exchange-rates"

# Read together on a request's first version read: one cache round trip for all.
_SHARED = (CATEGORY_TREE, CATALOGUE, MARKETS, PRICING, SHIPPING, PAYMENTS, EXCHANGE_RATES)

_PREFIX = "version:"

# The version of a concern whose counter could not be read.
UNKNOWN = 0


def price_list(price_list_id: int) -> str:
    return f"price-list:{price_list_id}"


def stock(variant_id: int) -> str:
    return f"stock:{variant_id}"


def listing(context_id: int) -> str:
    """Any listing row of the context: prices, stock flags, members."""
    return f"listing:{context_id}"


def listing_members(context_id: int) -> str:
    """Which products the context lists and what they are found by (not price or stock)."""
    return f"listing-members:{context_id}"


def version(concern: str) -> int:
    """The current version of ``concern`` (read once per request; the shared
    concerns' versions all in the same round trip)."""
    if concern in _SHARED:
        return memoized(_PREFIX + "*shared", lambda: _read(list(_SHARED)))[concern]
    return memoized(_PREFIX + concern, lambda: _read([concern])[concern])


def _start() -> int:
    """A new counter's first value: random, so it matches no earlier counter's value."""
    return secrets.randbits(40) + 1


def versions(concerns: Iterable[str]) -> dict[str, int]:
    """Current versions of several concerns: each read once per request, those not
    read yet in one cache round trip."""
    wanted = sorted(set(concerns))
    result = {concern: version(concern) for concern in wanted if concern in _SHARED}
    own = [_PREFIX + concern for concern in wanted if concern not in _SHARED]
    if own:
        read = memoized_many(
            own,
            lambda keys: {
                _PREFIX + concern: number
                for concern, number in _read([key.removeprefix(_PREFIX) for key in keys]).items()
            },
        )
        result |= {key.removeprefix(_PREFIX): number for key, number in read.items()}
    return result


def is_known(shown: Mapping[str, int]) -> bool:
    """False if any of these versions could not be read: do not store what was built."""
    return UNKNOWN not in shown.values()


def _read(concerns: list[str]) -> dict[str, int]:
    if not concerns:
        return {}
    keys = {_PREFIX + concern: concern for concern in concerns}
    try:
        found = cache.get_many(list(keys))
        missing = [key for key in keys if found.get(key) is None]
        if missing:
            # Versions nobody retired yet: start them, keeping any racing start.
            # Both miss when the cache is unavailable: the version is unknown.
            found |= _start_many(missing)
        result = {}
        for key, concern in keys.items():
            value = found.get(key)
            result[concern] = UNKNOWN if value is None else int(value)
    except CACHE_ERRORS:
        # A cache backend without a circuit breaker (shop.cache has one).
        logger.warning("Cache versions unreadable; building without the cache", exc_info=True)
        return dict.fromkeys(concerns, UNKNOWN)
    return result


def _start_many(keys: list[str]) -> dict[str, Any]:
    """Start the counters ``keys`` unless set meanwhile; their values (one round trip
    with ``shop.cache``)."""
    add_many = getattr(cache, "add_many", None)
    if add_many is not None:
        found: dict[str, Any] = add_many({key: _start() for key in keys}, None)
        return found
    for key in keys:
        cache.add(key, _start(), None)
    return cache.get_many(keys)


def retire(*concerns: str) -> None:
    """Move the versions of ``concerns`` on once the current transaction commits."""
    if concerns:
        transaction.on_commit(lambda: retire_now(*concerns))


# Retiring more versions than this at once writes fresh random numbers in one
# round trip instead of incrementing each counter (a stock import retires
# one version per variant).
BULK_RETIRE = 16


def retire_now(*concerns: str) -> None:
    if len(concerns) > BULK_RETIRE:
        _retire_many(concerns)
        return
    for concern in concerns:
        key = _PREFIX + concern
        forget(key)
        if concern in _SHARED:
            forget(_PREFIX + "*shared")
        try:
            cache.incr(key)
        except ValueError:  # not set yet (or evicted): any new value retires old keys
            cache.add(key, _start(), None)
        except CACHE_ERRORS:
            logger.warning("Cache version %s not retired", concern, exc_info=True)


def _retire_many(concerns: Iterable[str]) -> None:
    keys = {_PREFIX + concern: _start() for concern in set(concerns)}
    for key in keys:
        forget(key)
    forget(_PREFIX + "*shared")
    try:
        cache.set_many(keys, None)
    except CACHE_ERRORS:
        logger.warning("%d cache versions not retired", len(keys), exc_info=True)
