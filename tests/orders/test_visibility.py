"""Products hidden in the destination country, or unpublished after they were put in a
cart, cannot be ordered."""

from __future__ import annotations

import pytest

from catalog.models import Product
from orders.errors import CartError, OrderNotPlaceable
from orders.models import Order
from payments.selectors import checkout_quote
from payments.services import checkout_complete
from tests.payments.helpers import BERLIN, NEW_YORK, cart_of, shipped

pytestmark = pytest.mark.usefixtures("checkout_shop")


def test_an_address_where_an_item_is_hidden_is_refused():
    # Given the mug, which the demo hides in the US, in a European cart
    cart = cart_of({"KRV-MUG": 1})

    # When the shopper ships to New York
    with pytest.raises(CartError) as caught:
        shipped(cart, NEW_YORK)

    # Then the address is refused and the cart stays European
    assert caught.value.code == "not_sold_here"
    cart.refresh_from_db()
    assert cart.country_id is None
    assert cart.pricing_market.code == "eu"


def test_a_product_unpublished_after_it_was_added_cannot_be_ordered():
    cart = shipped(cart_of({"KRV-MUG": 1, "KRV-TEE-M": 1}), BERLIN)
    Product.objects.filter(variants__sku="KRV-MUG").update(is_published=False)

    quote = checkout_quote(cart=cart)

    assert not quote.is_placeable
    [problem] = quote.problems
    assert problem.code == "not_sold_here"
    assert "KRV-MUG" in problem.message
    with pytest.raises(OrderNotPlaceable):
        checkout_complete(cart=cart, payment_method_code="bank-transfer")
    assert not Order.objects.exists()


def test_a_product_hidden_in_the_destination_country_later_cannot_be_ordered():
    cart = shipped(cart_of({"KRV-MUG": 1}), BERLIN)
    Product.objects.filter(variants__sku="KRV-MUG").update(
        visibility="except", visibility_countries=["DE"]
    )

    quote = checkout_quote(cart=cart)

    assert quote.problem_codes() == ["not_sold_here"]


def test_the_cart_shows_an_unpublished_product_once_the_change_is_committed(
    django_capture_on_commit_callbacks,
):
    from catalog.services import catalogue_changed
    from orders.quote import cart_quote_at_offer_prices

    # Given a cart whose items the cart page shows from the catalogue cache
    cart = shipped(cart_of({"KRV-MUG": 1, "KRV-TEE-M": 1}), BERLIN)
    assert cart_quote_at_offer_prices(cart=cart).is_placeable

    # When the merchant unpublishes the mug (the admin retires the catalogue caches)
    with django_capture_on_commit_callbacks(execute=True):
        Product.objects.filter(variants__sku="KRV-MUG").update(is_published=False)
        catalogue_changed()

    # Then the cart page says it cannot be ordered
    [problem] = cart_quote_at_offer_prices(cart=cart).problems
    assert (problem.code, "KRV-MUG" in problem.message) == ("not_sold_here", True)
