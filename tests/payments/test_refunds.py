"""Refunds from the admin: by units, shipping or an amount; through Stripe or by hand;
never more than was paid, never twice for one request."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from orders.models import Order, OutboxEvent
from payments.models import Payment, PaymentStatus, Refund
from payments.refunds import RefundError, RefundRequest, order_balance, order_refund
from payments.services import checkout_complete, payment_confirm_received
from pricing.models import StockLevel
from tests.payments.fake_stripe import FakeStripe
from tests.payments.helpers import BERLIN, cart_of, shipped
from tests.payments.test_stripe import card_checkout, post_event

pytestmark = pytest.mark.usefixtures("checkout_shop")


def paid_card_order(fake: FakeStripe, client) -> Order:
    result = card_checkout()
    intent = fake.succeed(result.payment.provider_id)
    assert post_event(client, fake.event("payment_intent.succeeded", intent)).status_code == 200
    return Order.objects.get(pk=result.order.pk)


def paid_transfer_order() -> Order:
    cart = shipped(cart_of({"KRV-TEE-M": 2}), BERLIN)
    order = checkout_complete(cart=cart, payment_method_code="bank-transfer").order
    payment_confirm_received(order=order, by="admin")
    return Order.objects.get(pk=order.pk)


def refund_form(admin_client, order: Order) -> dict[str, str]:
    page = admin_client.get(f"/admin/orders/order/{order.pk}/refund/").content.decode()
    key = re.search(r'name="key" value="(\w+)"', page)
    assert key, "no request key in the form"
    return {"key": key.group(1)}


def test_a_partial_refund_of_one_unit_goes_through_stripe_and_shows_the_balance(
    stripe_fake, client, admin_client
):
    # Given a de-de card order of 2 × KRV-TEE-M (59.80 EUR) and shipping, paid
    order = paid_card_order(stripe_fake, client)
    line = order.lines.get(sku="KRV-TEE-M")
    form = refund_form(admin_client, order)

    # When the merchant refunds one unit (and clicks twice)
    for _click in range(2):
        response = admin_client.post(
            f"/admin/orders/order/{order.pk}/refund/", {**form, f"line_{line.pk}": "1"}
        )
        assert response.status_code == 302

    # Then Stripe refunded 29.90 EUR once, and the order shows what is left
    (refund,) = stripe_fake.refunds.values()
    assert (refund["amount"], refund["currency"]) == (2990, "eur")
    recorded = Refund.objects.get()
    assert (recorded.amount, recorded.status, recorded.reference) == (
        Decimal("29.90"),
        Refund.Status.SUCCEEDED,
        refund["id"],
    )
    balance = order_balance(order)
    assert balance.paid == order.total_gross
    assert balance.refunded == Decimal("29.90")
    assert balance.balance == order.total_gross - Decimal("29.90") and balance.due == 0
    assert Payment.objects.get(order=order).status == PaymentStatus.PAID
    page = admin_client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    assert "refunded: 29.90" in page
    assert OutboxEvent.objects.filter(kind="order.refunded", order=order).count() == 1


def test_refunding_everything_left_refunds_the_payment_in_full(stripe_fake, client):
    order = paid_card_order(stripe_fake, client)
    line = order.lines.get(sku="KRV-TEE-M")
    order_refund(order=order, request=RefundRequest(lines={line.pk: 1}), key="a", by="admin")

    order_refund(
        order=order, request=RefundRequest(lines={line.pk: 1}, shipping=True), key="b", by="admin"
    )

    assert order_balance(order).balance == 0
    assert sum(r["amount"] for r in stripe_fake.refunds.values()) == int(order.total_gross * 100)
    assert Payment.objects.get(order=order).status == PaymentStatus.REFUNDED


@pytest.mark.parametrize(
    ("request_of", "message"),
    [
        (lambda line: RefundRequest(amount=Decimal("1000")), "is more than can be refunded"),
        (lambda line: RefundRequest(lines={line.pk: 3}), "2 of 2 units are left to refund"),
        (lambda line: RefundRequest(lines={line.pk + 999: 1}), "is not in this order"),
        (lambda line: RefundRequest(amount=Decimal("-5")), "cannot be negative"),
        (lambda line: RefundRequest(), "Choose units, the shipping or an amount"),
    ],
)
def test_an_illegal_refund_is_refused_and_changes_nothing(stripe_fake, client, request_of, message):
    order = paid_card_order(stripe_fake, client)
    line = order.lines.get(sku="KRV-TEE-M")

    with pytest.raises(RefundError, match=message):
        order_refund(order=order, request=request_of(line), key="k", by="admin")

    assert not Refund.objects.exists() and not stripe_fake.refunds
    assert order_balance(order).refunded == 0


def test_an_unpaid_order_cannot_be_refunded(stripe_fake):
    order = card_checkout().order

    with pytest.raises(RefundError, match="is not paid"):
        order_refund(order=order, request=RefundRequest(amount=Decimal(1)), key="k", by="admin")

    assert not stripe_fake.refunds


def test_the_admin_form_says_why_a_refund_is_refused(stripe_fake, client, admin_client):
    order = paid_card_order(stripe_fake, client)

    response = admin_client.post(
        f"/admin/orders/order/{order.pk}/refund/",
        {**refund_form(admin_client, order), "amount": "5000"},
    )

    assert response.status_code == 200
    assert "is more than can be refunded" in response.content.decode()
    assert not Refund.objects.exists()


def test_money_paid_by_hand_is_refunded_by_hand_with_a_reference_and_restocked():
    order = paid_transfer_order()
    line = order.lines.get(sku="KRV-TEE-M")
    level = StockLevel.objects.get(variant_id=line.variant_id, pool_id=line.ship_from_pool_id)

    with pytest.raises(RefundError, match="enter the reference"):
        order_refund(order=order, request=RefundRequest(lines={line.pk: 1}), key="a", by="admin")
    refund = order_refund(
        order=order,
        request=RefundRequest(lines={line.pk: 2}, restock=True, reference="SEPA-4711"),
        key="b",
        by="admin",
    )

    assert (refund.status, refund.reference, refund.amount) == (
        Refund.Status.MANUAL,
        "SEPA-4711",
        line.line_gross,
    )
    assert StockLevel.objects.get(pk=level.pk).quantity == level.quantity + 2
    assert order_balance(order).refunded_units == {line.pk: 2}


def test_odd_amounts_split_to_the_cent():
    order = paid_transfer_order()
    line = order.lines.get(sku="KRV-TEE-M")
    type(line).objects.filter(pk=line.pk).update(line_gross=Decimal("59.81"))

    first = order_refund(
        order=order, request=RefundRequest(lines={line.pk: 1}, reference="r"), key="a", by="x"
    )
    second = order_refund(
        order=order, request=RefundRequest(lines={line.pk: 1}, reference="r"), key="b", by="x"
    )

    assert first.amount + second.amount == Decimal("59.81")
