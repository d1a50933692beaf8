"""Shipping options: zones, flat and bracket rates, free thresholds, weight limits, tracking."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from shipping.models import ShippingMethod, ShippingRate, ShippingRateBracket
from shipping.selectors import Destination, shipping_options, tracking_url
from shipping.services import shipping_method_upsert, shipping_rate_upsert, shipping_zone_upsert
from tests.shipping.factories import method_with_rate

pytestmark = pytest.mark.django_db

BERLIN = Destination(country="DE", city="Berlin", postal_code="10115")


def options(destination: Destination = BERLIN, **cart: object) -> list[tuple[str, Decimal]]:
    found = shipping_options(
        destination=destination,
        currency=str(cart.get("currency", "EUR")),
        weight_grams=int(cart.get("weight_grams", 500)),  # type: ignore[call-overload]
        goods_value=Decimal(str(cart.get("goods_value", "50"))),
    )
    return [(option.code, option.price) for option in found]


def test_a_flat_rate_is_offered_with_its_method_details() -> None:
    method, _zone, _rate = method_with_rate(
        "post", names={"en": "Standard", "de": "Standardversand"}
    )
    [option] = shipping_options(
        destination=BERLIN,
        currency="EUR",
        weight_grams=100,
        goods_value=Decimal("10"),
        language="de",
    )
    assert option.method_id == method.pk
    assert (option.code, option.carrier, option.name) == ("post", "POST", "Standardversand")
    assert (option.price, option.currency, option.price_includes_tax) == (
        Decimal("4.90"),
        "EUR",
        True,
    )
    assert (option.days_min, option.days_max) == (1, 3)
    # A language without a name falls back to the default language
    [french] = shipping_options(
        destination=BERLIN, currency="EUR", weight_grams=1, goods_value=Decimal(1), language="fr"
    )
    assert french.name == "Standard"


def test_weight_brackets_take_the_smallest_that_holds_the_cart() -> None:
    method_with_rate(
        "dhl",
        basis=ShippingRate.Basis.WEIGHT,
        brackets=[(2000, Decimal("5.90")), (5000, Decimal("7.49")), (None, Decimal("19.99"))],
        max_weight_grams=31500,
    )
    assert options(weight_grams=0) == [("dhl", Decimal("5.90"))]
    assert options(weight_grams=2000) == [("dhl", Decimal("5.90"))]
    assert options(weight_grams=2001) == [("dhl", Decimal("7.49"))]
    assert options(weight_grams=31500) == [("dhl", Decimal("19.99"))]
    # Above the rate's maximum weight the method is not offered
    assert options(weight_grams=31501) == []


def test_weight_brackets_without_open_end_refuse_heavier_carts() -> None:
    method_with_rate("dhl", basis=ShippingRate.Basis.WEIGHT, brackets=[(2000, Decimal("5.90"))])
    assert options(weight_grams=2500) == []


def test_order_value_brackets_and_free_above_a_threshold() -> None:
    method_with_rate(
        "post",
        currency="TRY",
        countries=["TR"],
        basis=ShippingRate.Basis.ORDER_VALUE,
        brackets=[(500, Decimal("149.90")), (None, Decimal("99.90"))],
        free_above=Decimal("1500"),
    )
    ankara = Destination(country="TR", region="TR-06", city="Ankara", postal_code="06100")
    assert options(ankara, currency="TRY", goods_value="499.99") == [("post", Decimal("149.90"))]
    assert options(ankara, currency="TRY", goods_value="500.01") == [("post", Decimal("99.90"))]
    assert options(ankara, currency="TRY", goods_value="1499.99") == [("post", Decimal("99.90"))]
    assert options(ankara, currency="TRY", goods_value="1500") == [("post", Decimal("0.00"))]


def test_options_need_a_rate_in_the_currency_and_a_deliverable_destination() -> None:
    method_with_rate("post")
    assert options(currency="USD") == []
    assert options(Destination(country="DE", postal_code="99")) == []  # bad postal code
    assert options(Destination(country="FR", postal_code="75001")) == []  # not in a zone


def test_options_are_sorted_by_price_and_prices_are_rounded_to_the_currency() -> None:
    method_with_rate("express", amount=Decimal("14.9"))
    method_with_rate("post", amount=Decimal("4.905"))
    method_with_rate("off", amount=Decimal("1"))
    ShippingMethod.objects.filter(code="off").update(is_active=False)
    assert options() == [("post", Decimal("4.91")), ("express", Decimal("14.90"))]


def test_a_region_zone_wins_over_the_country_zone_of_the_same_method() -> None:
    # Given USPS with a New York zone and a zone for the rest of the US
    method, _zone, _rate = method_with_rate(
        "usps", countries=["US"], currency="USD", amount=Decimal("14.95"), includes_tax=False
    )
    east = shipping_zone_upsert(method=method, name="East", regions=["US-NY", "US-NJ"])
    shipping_rate_upsert(zone=east, currency="USD", amount=Decimal("6.95"), includes_tax=False)
    new_york = Destination(country="US", region="US-NY", postal_code="10001")
    texas = Destination(country="US", region="US-TX", postal_code="73301")
    # Then each address gets its zone's price, and the flag says it is before tax
    assert options(new_york, currency="USD") == [("usps", Decimal("6.95"))]
    assert options(texas, currency="USD") == [("usps", Decimal("14.95"))]
    [option] = shipping_options(
        destination=new_york, currency="USD", weight_grams=1, goods_value=Decimal(1)
    )
    assert option.price_includes_tax is False


def test_a_zone_of_a_parent_region_serves_its_children() -> None:
    method_with_rate("highland", countries=[], regions=["GB-SCT"], currency="GBP")
    glasgow = Destination(country="GB", region="GB-GLG", postal_code="G1 1AA")
    assert options(glasgow, currency="GBP") == [("highland", Decimal("4.90"))]
    london = Destination(country="GB", region="GB-LND", postal_code="EC1A 1BB")
    assert options(london, currency="GBP") == []


def test_negative_carts_are_refused() -> None:
    with pytest.raises(ValueError):
        shipping_options(
            destination=BERLIN, currency="EUR", weight_grams=-1, goods_value=Decimal(1)
        )


def test_tracking_url_fills_in_the_number_quoted() -> None:
    method, _zone, _rate = method_with_rate("dhl")
    assert tracking_url(method_id=method.pk, tracking_number=" 00340 434/1 ") == (
        "https://track.example/dhl?n=00340%20434%2F1"
    )
    assert tracking_url(method_id=method.pk, tracking_number="") == ""
    ShippingMethod.objects.filter(pk=method.pk).update(tracking_url_pattern="")
    assert tracking_url(method_id=method.pk, tracking_number="123") == ""
    assert tracking_url(method_id=0, tracking_number="123") == ""


@pytest.mark.parametrize(
    "change",
    [
        {"days_min": 5, "days_max": 2},
        {"tracking_url_pattern": "https://track.example/?n="},
        {"tracking_url_pattern": "javascript:alert({number})"},
        {"names": {}},
        {"names": {"xx": "Unknown language"}},
        {"names": {"en": " "}},
        {"names": ["Standard"]},
    ],
)
def test_bad_methods_are_refused(change: dict[str, object]) -> None:
    fields: dict[str, object] = {
        "code": "post",
        "carrier": "Post",
        "names": {"en": "Standard"},
        "days_min": 1,
        "days_max": 3,
        **change,
    }
    with pytest.raises(ValidationError):
        shipping_method_upsert(**fields)  # type: ignore[arg-type]
    assert not ShippingMethod.objects.exists()


def test_bad_rates_are_refused_and_change_nothing() -> None:
    _method, zone, rate = method_with_rate("post")
    for bad in [
        {"currency": "EUX", "amount": Decimal(1)},
        {"currency": "EUR", "amount": Decimal(-1)},
        {"currency": "EUR", "basis": ShippingRate.Basis.FLAT, "amount": None},
        {"currency": "EUR", "basis": ShippingRate.Basis.WEIGHT, "brackets": []},
        {
            "currency": "EUR",
            "basis": ShippingRate.Basis.WEIGHT,
            "brackets": [(1000, Decimal(1)), (1000, Decimal(2))],
        },
        {
            "currency": "EUR",
            "basis": ShippingRate.Basis.WEIGHT,
            "brackets": [(1000, Decimal(-1))],
        },
    ]:
        with pytest.raises(ValidationError):
            shipping_rate_upsert(zone=zone, **bad)  # type: ignore[arg-type]
    rate.refresh_from_db()
    assert rate.amount == Decimal("4.90")


def test_the_database_refuses_two_open_ended_brackets() -> None:
    _method, _zone, rate = method_with_rate(
        "dhl", basis=ShippingRate.Basis.WEIGHT, brackets=[(None, Decimal("5"))]
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        ShippingRateBracket.objects.create(rate=rate, up_to=None, amount=Decimal(6))
