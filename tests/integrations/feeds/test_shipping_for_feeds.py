"""``shipping.selectors.country_shipping_options``: a country's shipping price for one
item, as feeds state it before any address is known."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shipping.selectors import Destination, country_shipping_options, shipping_options

pytestmark = pytest.mark.django_db


def test_a_country_gets_the_prices_an_address_there_gets(checkout_shop):
    by_country = country_shipping_options(
        country="DE", currency="EUR", weight_grams=300, goods_value=Decimal("29.90")
    )
    for_address = shipping_options(
        destination=Destination(country="DE", city="Berlin", postal_code="10115"),
        currency="EUR",
        weight_grams=300,
        goods_value=Decimal("29.90"),
    )

    assert by_country
    assert [(o.code, o.price) for o in by_country] == [(o.code, o.price) for o in for_address]
    # A country the shop does not deliver to has none; a negative weight is refused.
    assert not country_shipping_options(
        country="JP", currency="EUR", weight_grams=300, goods_value=Decimal(10)
    )
    with pytest.raises(ValueError):
        country_shipping_options(
            country="DE", currency="EUR", weight_grams=-1, goods_value=Decimal(10)
        )
