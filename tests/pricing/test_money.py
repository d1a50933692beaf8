"""Price rounding rules and currency minor units."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pricing.models import Rounding
from pricing.money import minor_units, quantize, round_price

amounts = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("1000000"), places=4)
currencies = st.sampled_from(["EUR", "USD", "TRY", "GBP", "JPY", "KWD"])
rules = st.sampled_from(list(Rounding))


@pytest.mark.parametrize(("currency", "digits"), [("EUR", 2), ("JPY", 0), ("KWD", 3), ("TRY", 2)])
def test_minor_units_follow_iso_4217(currency, digits):
    assert minor_units(currency) == digits


@pytest.mark.parametrize(
    ("amount", "rule", "expected"),
    [
        ("27.1361", Rounding.END_99, "27.99"),
        ("27.99", Rounding.END_99, "27.99"),
        ("27.995", Rounding.END_99, "28.99"),
        ("28.00", Rounding.END_99, "28.99"),
        ("12.01", Rounding.END_90, "12.90"),
        ("12.91", Rounding.END_90, "13.90"),
        ("12.96", Rounding.END_95, "13.95"),
        ("12.50", Rounding.WHOLE, "13.00"),
        ("12.49", Rounding.WHOLE, "12.00"),
        ("12.024", Rounding.NEAREST_005, "12.00"),
        ("12.025", Rounding.NEAREST_005, "12.05"),
        ("12.49", Rounding.NEAREST_5, "10.00"),
        ("12.50", Rounding.NEAREST_5, "15.00"),
        ("12.345", Rounding.NONE, "12.35"),
        ("0", Rounding.END_99, "0.00"),
    ],
)
def test_rounding_rules(amount, rule, expected):
    assert round_price(Decimal(amount), rule, "EUR") == Decimal(expected)


def test_yen_has_no_cents_even_with_an_ending_rule():
    assert round_price(Decimal("1234.2"), Rounding.END_99, "JPY") == Decimal("1235")
    assert round_price(Decimal("1234.2"), Rounding.NEAREST_005, "JPY") == Decimal("1234")


def test_dinar_keeps_three_decimals():
    assert round_price(Decimal("1.23449"), Rounding.NONE, "KWD") == Decimal("1.234")
    assert round_price(Decimal("1.2"), Rounding.END_99, "KWD") == Decimal("1.990")


@given(amount=amounts)
def test_ending_in_99_is_the_smallest_such_amount_not_below(amount):
    result = round_price(amount, Rounding.END_99, "EUR")

    assert result % 1 == Decimal("0.99")
    assert result >= amount
    assert result - 1 < amount  # the next lower .99 would be below the amount


@given(amount=amounts, rule=rules, currency=currencies)
def test_results_are_never_negative_and_fit_the_currency(amount, rule, currency):
    result = round_price(amount, rule, currency)

    assert result >= 0
    assert result == quantize(result, currency)
    assert -result.as_tuple().exponent == minor_units(currency)


@given(amount=st.decimals(max_value=Decimal(0), min_value=Decimal(-1000), places=2), rule=rules)
def test_zero_or_negative_input_gives_zero(amount, rule):
    assert round_price(amount, rule, "EUR") == Decimal("0.00")


@pytest.mark.parametrize(
    ("amount", "rule", "expected"),
    [
        ("2.40", Rounding.NEAREST_5, "5.00"),
        ("0.40", Rounding.WHOLE, "1.00"),
        ("0.01", Rounding.NEAREST_005, "0.05"),
    ],
)
def test_a_positive_price_never_rounds_to_zero(amount, rule, expected):
    assert round_price(Decimal(amount), rule, "EUR") == Decimal(expected)


@given(amount=amounts, rule=rules, currency=currencies)
def test_positive_amounts_stay_positive(amount, rule, currency):
    assert round_price(amount, rule, currency) > 0
