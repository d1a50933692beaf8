"""Customs: which lines cross a border, and what the demo's December 2026 regimes charge."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from shipping.models import CustomsArea, DutyRule
from shipping.selectors import CustomsLine, crosses_customs_border, duty_quote
from shipping.services import customs_area_upsert, duty_rule_upsert

pytestmark = pytest.mark.django_db

DEC_2026 = date(2026, 12, 2)
RATES = {"EUR": Decimal(1), "USD": Decimal("1.08"), "GBP": Decimal("0.85"), "TRY": Decimal(36)}


def convert(amount: Decimal, from_currency: str, to_currency: str) -> Decimal:
    """Demo exchange rates, everything through EUR."""
    return amount / RATES[from_currency] * RATES[to_currency]


def tee(
    key: str = "1", value: str = "50", ship_from: str = "TR", hs: str = "610910"
) -> CustomsLine:
    return CustomsLine(
        key=key,
        hs_code=hs,
        origin_country="TR",
        ship_from_country=ship_from,
        value=Decimal(value),
        quantity=1,
    )


def quote(country: str, lines: list[CustomsLine], currency: str, **kwargs: object):  # type: ignore[no-untyped-def]
    fields: dict[str, object] = {
        "destination_country": country,
        "lines": lines,
        "shipping": Decimal("5"),
        "currency": currency,
        "convert": convert,
        "on": DEC_2026,
        **kwargs,
    }
    return duty_quote(**fields)  # type: ignore[arg-type]


def test_the_eu_is_one_customs_area() -> None:
    assert not crosses_customs_border("NL", "DE")
    assert not crosses_customs_border("de", "FR")
    assert not crosses_customs_border("TR", "TR")
    assert crosses_customs_border("TR", "DE")
    assert crosses_customs_border("DE", "GB")
    assert crosses_customs_border("CH", "US")


def test_only_crossing_lines_count(shipping_demo: None) -> None:
    # Given a German order with one line from the NL pool and one from Türkiye
    result = quote("DE", [tee("nl", "40", ship_from="NL"), tee("tr", "30")], "EUR")
    # Then only the Turkish line crosses, and it is under 150 EUR: 3 EUR, DDP, IOSS
    assert result.crossing_keys == ("tr",)
    assert (result.mode, result.amount, result.currency) == ("ddp", Decimal("3.00"), "EUR")
    assert result.import_vat_at_checkout is True
    assert result.rule_id == DutyRule.objects.get(name__startswith="EU up to 150 EUR: 3").pk


def test_no_crossing_lines_means_no_duty_and_no_import_vat(shipping_demo: None) -> None:
    result = quote("DE", [tee(ship_from="NL"), tee("2", ship_from="DE")], "EUR")
    assert (result.mode, result.amount, result.import_vat_at_checkout) == (
        "none",
        Decimal("0.00"),
        False,
    )
    assert result.crossing_keys == ()
    assert result.notice == ""
    assert result.rule_id is None


def test_eu_flat_duty_counts_distinct_subheadings(shipping_demo: None) -> None:
    lines = [
        tee("a", "20", hs="610910"),
        tee("b", "20", hs="61091000"),  # same subheading 6109.10
        tee("c", "20", hs="620520"),
        tee("d", "20", hs=""),  # no HS code: no flat amount for it
    ]
    result = quote("FR", lines, "EUR")
    assert (result.mode, result.amount) == ("ddp", Decimal("6.00"))
    assert result.crossing_keys == ("a", "b", "c", "d")


def test_eu_flat_duty_is_converted_to_the_cart_currency(shipping_demo: None) -> None:
    # A cart priced in USD into Germany: 3 EUR at 1.08
    result = quote("DE", [tee(value="100")], "USD")
    assert (result.amount, result.currency) == (Decimal("3.24"), "USD")


def test_eu_above_150_eur_is_a_dap_notice(shipping_demo: None) -> None:
    # 150.00 EUR is still "up to"; 150.01 is above
    assert quote("DE", [tee(value="150")], "EUR").mode == "ddp"
    result = quote("DE", [tee(value="100"), tee("2", "50.01")], "EUR", language="de")
    assert (result.mode, result.amount, result.import_vat_at_checkout) == (
        "dap",
        Decimal("0.00"),
        False,
    )
    assert "Lieferung" in result.notice
    # The threshold is compared in EUR: 170 USD is 157.41 EUR
    assert quote("DE", [tee(value="170")], "USD").mode == "dap"


def test_eu_before_july_2026_charged_import_vat_but_no_duty(shipping_demo: None) -> None:
    result = quote("DE", [tee(value="50")], "EUR", on=date(2026, 6, 30))
    assert (result.mode, result.amount, result.import_vat_at_checkout) == (
        "none",
        Decimal("0.00"),
        True,
    )
    assert result.notice


def test_us_duty_on_every_consignment(shipping_demo: None) -> None:
    # Given a de-de cart re-priced in USD and shipped to New York from the EU pool
    result = quote(
        "US", [tee("1", "29.99", ship_from="DE"), tee("2", "1.01", ship_from="DE")], "USD"
    )
    # Then 10 % of the goods value is charged at checkout, and US sales tax too
    assert (result.mode, result.amount, result.currency) == ("ddp", Decimal("3.10"), "USD")
    assert result.import_vat_at_checkout is True
    assert result.crossing_keys == ("1", "2")
    # Even a tiny consignment pays: no de minimis
    assert quote("US", [tee(value="0.99", ship_from="DE")], "USD").amount == Decimal("0.10")


def test_uk_up_to_135_gbp_vat_at_checkout_no_duty_above_dap(shipping_demo: None) -> None:
    small = quote("GB", [tee(value="135", ship_from="DE")], "GBP")
    assert (small.mode, small.amount, small.import_vat_at_checkout) == (
        "none",
        Decimal("0.00"),
        True,
    )
    large = quote("GB", [tee(value="135.01", ship_from="DE")], "GBP")
    assert (large.mode, large.import_vat_at_checkout) == ("dap", False)
    assert "delivery" in large.notice
    # Priced in EUR: 150 EUR is 127.50 GBP, still up to 135 GBP
    assert quote("GB", [tee(value="150", ship_from="DE")], "EUR").mode == "none"


def test_percentage_per_hs_chapter_and_on_shipping() -> None:
    # Given a 5 % rule with 12 % on chapter 61, also on shipping
    area = customs_area_upsert(code="ch", name="Switzerland", countries=["CH"])
    duty_rule_upsert(
        area=area,
        name="Swiss duty",
        valid_from=date(2026, 1, 1),
        percentage=Decimal("5"),
        chapter_rates={"61": Decimal("12")},
        percentage_includes_shipping=True,
    )
    lines = [tee("a", "100", hs="610910"), tee("b", "100", hs="420222"), tee("c", "100", hs="")]
    # When shipping 30 goes with 300 of crossing goods (all of them)
    result = quote("CH", lines, "EUR", shipping=Decimal("30"))
    # Then 12 + 5 + 5 on the goods and 5 % of the shipping
    assert (result.mode, result.amount) == ("ddp", Decimal("23.50"))
    # A line from inside the area takes its share of shipping out of the duty base
    mixed = quote(
        "CH", [tee("a", "100"), tee("b", "100", ship_from="CH")], "EUR", shipping=Decimal("30")
    )
    assert mixed.amount == Decimal("12.75")  # 12 % of 100 + 5 % of 15


def test_rules_outside_their_dates_or_inactive_do_not_apply() -> None:
    area = customs_area_upsert(code="ch", name="Switzerland", countries=["CH"])
    duty_rule_upsert(
        area=area,
        name="Old",
        valid_from=date(2020, 1, 1),
        valid_to=date(2025, 12, 31),
        percentage=Decimal("5"),
    )
    duty_rule_upsert(
        area=area, name="Off", valid_from=date(2020, 1, 1), percentage=Decimal(7), is_active=False
    )
    # No rule applies: the goods still cross, so duties may be due on delivery (DAP)
    no_rule = quote("CH", [tee()], "EUR")
    assert (no_rule.mode, no_rule.amount, no_rule.import_vat_at_checkout) == (
        "dap",
        Decimal("0.00"),
        False,
    )
    assert no_rule.notice == "Import duties and taxes may be due on delivery."
    assert no_rule.rule_id is None
    assert quote("CH", [tee()], "EUR", on=date(2025, 12, 31)).amount == Decimal("2.50")


def test_crossing_goods_without_any_rule_are_dap_with_a_notice_and_an_error_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Switzerland has no customs area and no rule at all in this database
    result = quote("CH", [tee(value="80")], "EUR", language="de")

    assert (result.mode, result.import_vat_at_checkout) == ("dap", False)
    assert result.crossing_keys == ("1",)
    assert "Lieferung" in result.notice
    assert "No duty rule for goods into CH" in caplog.text


def test_a_country_belongs_to_one_customs_area() -> None:
    with pytest.raises(ValidationError):
        customs_area_upsert(code="benelux", name="Benelux", countries=["NL", "BE", "LU"])
    assert not CustomsArea.objects.filter(code="benelux").exists()
    with pytest.raises(ValidationError):
        customs_area_upsert(code="nowhere", name="Nowhere", countries=["XX"])


@pytest.mark.parametrize(
    "bad",
    [
        {"valid_to": date(2025, 1, 1)},
        {"flat_per_subheading": Decimal(3)},  # without currency
        {"threshold_amount": Decimal(150)},  # without currency
        {"percentage": Decimal(-1)},
        {"percentage": Decimal(5000)},
        {"flat_currency": "EUX", "flat_per_subheading": Decimal(3)},
        {"chapter_rates": {"6": Decimal(5)}},
        {"chapter_rates": {"61": Decimal(-5)}},
        {"mode": "cif"},
    ],
)
def test_bad_duty_rules_are_refused(bad: dict[str, object]) -> None:
    area = customs_area_upsert(code="ch", name="Switzerland", countries=["CH"])
    fields: dict[str, object] = {
        "area": area,
        "name": "Swiss duty",
        "valid_from": date(2026, 1, 1),
        **bad,
    }
    with pytest.raises(ValidationError):
        duty_rule_upsert(**fields)  # type: ignore[arg-type]
    assert not DutyRule.objects.exists()


def test_the_database_refuses_a_rule_ending_before_it_starts() -> None:
    area = customs_area_upsert(code="ch", name="Switzerland", countries=["CH"])
    with pytest.raises(IntegrityError), transaction.atomic():
        DutyRule.objects.create(
            area=area, name="x", valid_from=date(2026, 1, 2), valid_to=date(2026, 1, 1)
        )
