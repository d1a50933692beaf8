"""Currency facts the whole shop shares."""

from __future__ import annotations

from functools import lru_cache

from babel.numbers import get_currency_precision


@lru_cache(maxsize=256)
def minor_units(currency: str) -> int:
    """Digits after the decimal point: JPY 0, EUR 2, KWD 3 (ISO 4217 via CLDR)."""
    return get_currency_precision(currency)
