"""The demo's shipping data serves the demo markets' scenarios."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shipping.models import DutyRule, ShippingMethod
from shipping.selectors import Destination, deliverable_countries, shipping_options

pytestmark = pytest.mark.django_db

BERLIN = Destination(country="DE", city="Berlin", postal_code="10115")
NEW_YORK = Destination(country="US", region="US-NY", city="New York", postal_code="10001")


def test_two_tshirts_to_berlin_ship_with_dhl_for_5_90_eur(shipping_demo: None) -> None:
    # Given a cart of 2 × KRV-TEE-M (180 g each) worth 59.80 EUR
    # When the shopper asks for shipping to Berlin
    options = shipping_options(
        destination=BERLIN,
        currency="EUR",
        weight_grams=360,
        goods_value=Decimal("59.80"),
        language="de",
    )
    # Then DHL Paket is the cheapest option, at exactly 5.90 EUR including tax
    assert options[0].carrier == "DHL"
    assert options[0].name == "DHL Paket"
    assert options[0].price == Decimal("5.90")
    assert options[0].currency == "EUR"
    assert options[0].price_includes_tax is True
    assert [option.code for option in options] == ["dhl", "dhl-express"]


def test_new_york_has_usd_rates_before_tax(shipping_demo: None) -> None:
    options = shipping_options(
        destination=NEW_YORK, currency="USD", weight_grams=360, goods_value=Decimal("64.58")
    )
    assert [(option.code, option.price) for option in options] == [
        ("usps-ground", Decimal("6.95")),
        ("ups-2day", Decimal("24.95")),
    ]
    assert all(option.price_includes_tax is False for option in options)


def test_setup_is_idempotent(shipping_demo: None) -> None:
    counts = (ShippingMethod.objects.count(), DutyRule.objects.count())
    from shipping.demo import shipping_demo_setup

    shipping_demo_setup()
    assert (ShippingMethod.objects.count(), DutyRule.objects.count()) == counts
    assert deliverable_countries() == ["AT", "DE", "FR", "GB", "NL", "TR", "US"]


def test_shipping_options_cost_a_fixed_number_of_queries(
    shipping_demo: None, django_assert_max_num_queries
) -> None:
    istanbul = Destination(
        country="TR", region="TR-34", city="İstanbul", district="Kadıköy", postal_code="34710"
    )
    # destination check: country, region, region switch, city with districts (2), postal
    # rules; options: region, zones, their rates, the rates' brackets
    with django_assert_max_num_queries(10):
        options = shipping_options(
            destination=istanbul, currency="TRY", weight_grams=360, goods_value=Decimal("1999.80")
        )
    assert [(option.code, option.price) for option in options] == [
        ("yurtici", Decimal("0.00")),
        ("istanbul-courier", Decimal("99.90")),
    ]


def test_istanbul_districts_are_offered_without_the_islands(shipping_demo: None) -> None:
    from shipping.selectors import deliverable_districts, destination_check

    districts = deliverable_districts("TR", "TR-34", "İstanbul")
    assert {"Kadıköy", "Beşiktaş", "Üsküdar", "Şişli"} <= set(districts)
    assert "Adalar" not in districts
    islands = Destination(
        country="TR", region="TR-34", city="İstanbul", district="Adalar", postal_code="34970"
    )
    assert destination_check(islands).field == "district"
