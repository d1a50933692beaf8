"""Money and numbers shown the way the shopper's language and country write them."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency

from shop.money import minor_units

# Turkish shops write the symbol after the amount ("999,90 ₺"), unlike CLDR's
# default for tr; shoppers expect what they see everywhere else.
CURRENCY_PATTERNS = {"tr": "#,##0.00\u00a0¤"}


@lru_cache(maxsize=256)
def shopper_locale(language: str, country: str) -> Locale:
    """``de`` + ``AT`` → de_AT; a pair CLDR does not know (en_TR) → the language alone."""
    try:
        return Locale.parse(f"{language}_{country.upper()}")
    except (UnknownLocaleError, ValueError):
        return Locale.parse(language)


@lru_cache(maxsize=8192)
def format_money(amount: Decimal, currency: str, *, language: str, country: str) -> str:
    """``29,90 €`` (de), ``$27.99`` (en-US), ``999,90 ₺`` (tr); memoized, prices repeat."""
    locale = shopper_locale(language, country)
    pattern = CURRENCY_PATTERNS.get(language)
    if pattern is not None:
        digits = minor_units(currency)
        pattern = pattern.replace("0.00", "0." + "0" * digits if digits else "0").replace(
            "0.\u00a0", "0\u00a0"
        )
        return format_currency(
            amount, currency, format=pattern, locale=locale, currency_digits=False
        )
    return format_currency(amount, currency, locale=locale)
