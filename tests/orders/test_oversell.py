"""No overselling: twenty parallel database sessions buy the last five units."""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from orders.errors import NotEnoughStock
from orders.models import Order, StockReservation
from orders.quote import cart_quote_at_offer_prices
from orders.services import order_mark_paid, order_place
from pricing.models import StockLevel
from tests.orders.factories import address_given, cart_with

BUYERS = 20
UNITS = 5

# Committed data, so that the other connections see it; restored afterwards.
pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.usefixtures("demo_shop"),
]


def test_of_twenty_buyers_of_the_last_five_units_exactly_five_get_one():
    # Given five units left and twenty shoppers at the checkout, each with a quote
    level = StockLevel.objects.get(variant__sku="KRV-TEE-M", pool__code="rotterdam")
    StockLevel.objects.filter(pk=level.pk).update(quantity=UNITS, reserved=0)
    StockLevel.objects.filter(variant__sku="KRV-TEE-M").exclude(pk=level.pk).update(quantity=0)
    carts = [address_given(cart_with({"KRV-TEE-M": 1})) for _ in range(BUYERS)]
    quotes = [cart_quote_at_offer_prices(cart=cart) for cart in carts]
    assert all(quote.is_placeable for quote in quotes)

    # When they all place their order at once, each in its own database session
    start = threading.Barrier(BUYERS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def buy(index: int) -> None:
        try:
            start.wait()
            try:
                order_place(
                    cart=carts[index], quote=quotes[index], payment_method_code="bank-transfer"
                )
                outcome = "ordered"
            except NotEnoughStock as error:
                outcome = f"{error.code}:{error.sku}"
            with lock:
                outcomes.append(outcome)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=buy, args=(i,)) for i in range(BUYERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # Then exactly five orders exist and the others were told there is not enough stock
    assert sorted(outcomes) == sorted(
        ["ordered"] * UNITS + ["not_enough_stock:KRV-TEE-M"] * (BUYERS - UNITS)
    )
    assert Order.objects.count() == UNITS
    level.refresh_from_db()
    assert (level.quantity, level.reserved) == (UNITS, UNITS)
    assert StockReservation.objects.filter(state="open").count() == UNITS

    # And once paid, the pool is at zero, never below
    for order in Order.objects.order_by("pk"):
        order_mark_paid(order=order, by="test")
    level.refresh_from_db()
    assert (level.quantity, level.reserved) == (0, 0)
