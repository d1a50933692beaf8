"""Addresses and steps shared by the checkout tests (the demo shop with delivery)."""

from __future__ import annotations

from orders.cart import (
    CheckoutAddress,
    cart_create,
    cart_line_add,
    cart_shipping_address_set,
    cart_shipping_method_set,
)
from orders.models import Cart
from orders.selectors import cart_shipping_options
from shop.models import Market

BERLIN = CheckoutAddress(
    first_name="Erika",
    last_name="Mustermann",
    email="erika@example.com",
    line1="Unter den Linden 1",
    city="Berlin",
    postal_code="10117",
    country="DE",
)
NEW_YORK = CheckoutAddress(
    first_name="Ada",
    last_name="Lovelace",
    email="ada@example.com",
    line1="350 Fifth Avenue",
    city="New York",
    postal_code="10118",
    region="US-NY",
    country="US",
)
LONDON = CheckoutAddress(
    first_name="Alan",
    last_name="Turing",
    email="alan@example.com",
    line1="1 Whitehall",
    city="London",
    postal_code="SW1A 2AA",
    country="GB",
)


def cart_of(items: dict[str, int], *, market: str = "eu", language: str = "de") -> Cart:
    cart, _token = cart_create(market=Market.objects.get(code=market), language=language)
    for sku, quantity in items.items():
        cart_line_add(cart=cart, sku=sku, quantity=quantity)
    return cart


def shipped(cart: Cart, address: CheckoutAddress = BERLIN) -> Cart:
    """The cart with ``address`` and the first shipping method offered."""
    cart_shipping_address_set(cart=cart, address=address)
    options = cart_shipping_options(cart=cart)
    assert options, "no shipping option"
    cart_shipping_method_set(cart=cart, method_id=options[0].method_id)
    return cart
