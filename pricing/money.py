"""Exact money arithmetic: currency minor units and price rounding rules."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from functools import lru_cache

from pricing.models import Rounding
from shop.money import minor_units

ZERO = Decimal(0)
HUNDRED = Decimal(100)


@lru_cache(maxsize=256)
def _quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-minor_units(currency))


def quantize(amount: Decimal, currency: str) -> Decimal:
    """Round half up to the currency's minor unit."""
    return amount.quantize(_quantum(currency), rounding=ROUND_HALF_UP)


def _to_multiple(amount: Decimal, step: Decimal) -> Decimal:
    """Nearest multiple of ``step``, but never below one step: a price is not rounded away."""
    return max((amount / step).quantize(Decimal(1), rounding=ROUND_HALF_UP), Decimal(1)) * step


def _smallest_ending(amount: Decimal, ending: Decimal) -> Decimal:
    """Smallest value ≥ amount whose fractional part is ``ending`` (e.g. 0.99)."""
    candidate = amount.to_integral_value(rounding=ROUND_FLOOR) + ending
    return candidate if candidate >= amount else candidate + 1


_ENDINGS = {
    Rounding.END_99: Decimal("0.99"),
    Rounding.END_90: Decimal("0.90"),
    Rounding.END_95: Decimal("0.95"),
}


def round_price(amount: Decimal, rule: str, currency: str) -> Decimal:
    """Apply a price list's rounding rule; the result is never negative.

    Zero stays zero, and a positive amount never rounds to zero (at least
    one step of the rule). Endings (.99, .90, .95) and 0.05 steps need minor units:
    in a currency without them (JPY) they round up to a whole unit instead.
    """
    if amount <= 0:
        return quantize(ZERO, currency)
    digits = minor_units(currency)
    if rule in _ENDINGS:
        if digits == 0:
            result = amount.to_integral_value(rounding=ROUND_CEILING)
        else:
            result = _smallest_ending(amount, _ENDINGS[Rounding(rule)])
    elif rule == Rounding.WHOLE:
        result = _to_multiple(amount, Decimal(1))
    elif rule == Rounding.NEAREST_005:
        result = _to_multiple(amount, Decimal("0.05") if digits >= 2 else Decimal(1))
    elif rule == Rounding.NEAREST_5:
        result = _to_multiple(amount, Decimal(5))
    else:
        result = amount
    # A positive amount below half a minor unit still costs one minor unit.
    return max(quantize(result, currency), _quantum(currency))


def add_tax(net: Decimal, rate_percent: Decimal) -> Decimal:
    return net * (1 + rate_percent / HUNDRED)


def remove_tax(gross: Decimal, rate_percent: Decimal) -> Decimal:
    return gross / (1 + rate_percent / HUNDRED)
