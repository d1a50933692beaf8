"""Checkout end to end: the cart priced by shipping and checkout tax, placed with a
payment method. Needs the shipping rules (``shipping.selectors``) and checkout tax
(``pricing.checkout_tax``)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.management import call_command

from orders.cart import (
    CheckoutAddress,
    cart_create,
    cart_line_add,
    cart_shipping_address_set,
    cart_shipping_method_set,
)
from orders.errors import CartError, OrderNotPlaceable, QuoteChanged
from orders.models import Order, OrderStatus
from orders.selectors import cart_shipping_options
from payments.demo import payments_demo_setup
from payments.selectors import checkout_quote, payment_methods_for
from payments.services import cart_payment_method_set, checkout_complete
from shop.models import Market
from tests.payments.helpers import BERLIN, NEW_YORK

pytestmark = pytest.mark.usefixtures("demo_shop")


@pytest.fixture(autouse=True)
def checkout_demo(demo_shop):
    from shipping.demo import shipping_demo_setup

    shipping_demo_setup()
    payments_demo_setup()


def tee_cart():
    cart, _token = cart_create(market=Market.objects.get(code="eu"), language="de")
    cart_line_add(cart=cart, sku="KRV-TEE-M", quantity=2)
    return cart


def ship_with_first_option(cart):
    options = cart_shipping_options(cart=cart)
    assert options
    cart_shipping_method_set(cart=cart, method_id=options[0].method_id)
    return options[0]


def test_a_german_cart_checks_out_with_bank_transfer_and_is_paid_by_command():
    # Given 2 × KRV-TEE-M shipped to Berlin with DHL
    cart = tee_cart()
    repricing = cart_shipping_address_set(cart=cart, address=BERLIN)
    assert repricing.repriced is False
    option = ship_with_first_option(cart)
    assert option.carrier.upper().startswith("DHL")
    cart_payment_method_set(cart=cart, code="bank-transfer")

    # Then the review shows the items with 19 % VAT and shipping
    quote = checkout_quote(cart=cart)
    assert quote.is_placeable, quote.problems
    assert quote.currency == "EUR"
    assert (quote.subtotal.net, quote.subtotal.tax, quote.subtotal.gross) == (
        Decimal("50.25"),
        Decimal("9.55"),
        Decimal("59.80"),
    )
    assert quote.lines[0].tax_rate == Decimal("19")
    assert quote.shipping is not None and quote.shipping.amounts.gross == Decimal("5.90")
    assert quote.total.gross == Decimal("65.70")
    assert quote.duty.mode == "none"
    assert [m.code for m in payment_methods_for(cart=cart)] == ["bank-transfer"]

    # When the shopper places the order
    result = checkout_complete(
        cart=cart, payment_method_code="bank-transfer", expected_total=quote.total.gross
    )

    # Then it waits for the transfer, with totals frozen as quoted
    order = result.order
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert result.next_action.kind == "bank_transfer"
    assert result.next_action.details["reference"] == order.number
    assert (order.subtotal_net, order.subtotal_tax, order.subtotal_gross) == (
        Decimal("50.25"),
        Decimal("9.55"),
        Decimal("59.80"),
    )
    assert order.shipping_gross == Decimal("5.90")
    assert order.total_gross == Decimal("65.70")
    assert order.total_net + order.total_tax == order.total_gross
    line = order.lines.get()
    assert (line.line_net, line.line_tax, line.tax_category) == (
        Decimal("50.25"),
        Decimal("9.55"),
        "S",
    )

    call_command("order_confirm_payment", order.number)
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID


def test_the_same_cart_to_new_york_is_repriced_in_dollars_with_duty():
    cart = tee_cart()

    repricing = cart_shipping_address_set(cart=cart, address=NEW_YORK)

    assert repricing.repriced is True
    assert (repricing.old_market, repricing.new_market) == ("eu", "us")
    assert (repricing.old_currency, repricing.new_currency) == ("EUR", "USD")
    assert repricing.old_total == Decimal("59.80")
    assert repricing.message
    ship_with_first_option(cart)
    quote = checkout_quote(cart=cart)
    assert quote.currency == "USD"
    assert "repriced" in [notice.code for notice in quote.notices]
    assert quote.duty.mode == "ddp"
    assert quote.duty.amount > 0
    assert quote.total.gross == (
        quote.subtotal.gross + quote.shipping.amounts.gross + quote.duty.amount
    )

    result = checkout_complete(cart=cart, payment_method_code="bank-transfer")

    assert result.order.currency == "USD"
    assert result.order.duty_amount == quote.duty.amount
    assert result.order.exchange_rate > 1


def test_a_changed_total_is_refused_and_nothing_is_stored():
    cart = tee_cart()
    cart_shipping_address_set(cart=cart, address=BERLIN)
    ship_with_first_option(cart)

    with pytest.raises(QuoteChanged) as caught:
        checkout_complete(
            cart=cart, payment_method_code="bank-transfer", expected_total=Decimal("1.00")
        )

    assert caught.value.code == "quote_changed"
    assert not Order.objects.exists()


def test_an_order_without_shipping_method_is_not_placeable():
    cart = tee_cart()
    cart_shipping_address_set(cart=cart, address=BERLIN)

    with pytest.raises(OrderNotPlaceable) as caught:
        checkout_complete(cart=cart, payment_method_code="bank-transfer")

    assert "no_shipping_method" in [problem.code for problem in caught.value.problems]
    assert not Order.objects.exists()


def test_countries_the_shop_does_not_deliver_to_are_refused():
    cart = tee_cart()
    tokyo = CheckoutAddress(
        first_name="Aiko",
        last_name="Sato",
        email="aiko@example.com",
        line1="1-1 Chiyoda",
        city="Tokyo",
        postal_code="100-0001",
        country="JP",
    )

    with pytest.raises(CartError) as caught:
        cart_shipping_address_set(cart=cart, address=tokyo)

    assert caught.value.code == "not_deliverable"
