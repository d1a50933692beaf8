"""Carts and orders for tests, built with the real services.

``address_given`` writes the address onto the cart directly, as test data:
the address service also asks ``shipping`` whether it delivers there, which
tests of stock, orders and payments do not depend on.
"""

from __future__ import annotations

from orders.cart import cart_create, cart_line_add
from orders.models import Cart, Order
from orders.quote import cart_quote_at_offer_prices
from orders.services import order_place
from shop.models import Market

BERLIN = {
    "first_name": "Erika",
    "last_name": "Mustermann",
    "email": "erika@example.com",
    "line1": "Unter den Linden 1",
    "city": "Berlin",
    "postal_code": "10117",
    "country_id": "DE",
}


def cart_with(items: dict[str, int], *, market: str = "eu", language: str = "de") -> Cart:
    cart, _token = cart_create(market=Market.objects.get(code=market), language=language)
    for sku, quantity in items.items():
        cart_line_add(cart=cart, sku=sku, quantity=quantity)
    return cart


def address_given(cart: Cart, **fields: str) -> Cart:
    for name, value in {**BERLIN, **fields}.items():
        setattr(cart, name, value)
    cart.save()
    return cart


def order_from(
    cart: Cart,
    *,
    method: str = "bank-transfer",
    minutes: int = 4320,
    pays_on_delivery: bool = False,
) -> Order:
    """Place the cart's order at the offers' prices (no shipping, duty or fee)."""
    if not cart.has_address:
        address_given(cart)
    return order_place(
        cart=cart,
        quote=cart_quote_at_offer_prices(cart=cart),
        payment_method_code=method,
        pays_on_delivery=pays_on_delivery,
        reservation_minutes=minutes,
    )
