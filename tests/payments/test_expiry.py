"""Orders not paid in time are cancelled by beat together with their payments."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import Order, OrderStatus
from orders.services import orders_expire
from orders.tasks import reservations_expire
from payments.models import PaymentStatus, PaymentTransaction
from payments.services import checkout_complete
from tests.payments.helpers import BERLIN, cart_of, shipped

pytestmark = pytest.mark.usefixtures("checkout_shop")


def bank_transfer_order():
    cart = shipped(cart_of({"KRV-TEE-M": 1}), BERLIN)
    return checkout_complete(cart=cart, payment_method_code="bank-transfer")


def test_an_expired_order_has_its_payment_cancelled():
    # Given a bank transfer order whose 3 days have passed
    result = bank_transfer_order()

    expired = orders_expire(now=timezone.now() + timedelta(days=4))

    assert expired == [result.order.number]
    result.order.refresh_from_db()
    result.payment.refresh_from_db()
    assert result.order.status == OrderStatus.CANCELLED
    assert result.payment.status == PaymentStatus.CANCELLED
    cancel = PaymentTransaction.objects.get(
        payment=result.payment, kind=PaymentTransaction.Kind.CANCEL
    )
    assert cancel.by == "system"


def test_the_beat_task_cancels_the_payments_too():
    result = bank_transfer_order()
    Order.objects.filter(pk=result.order.pk).update(
        reservation_expires_at=timezone.now() - timedelta(minutes=1)
    )

    assert reservations_expire() == [result.order.number]

    result.payment.refresh_from_db()
    assert result.payment.status == PaymentStatus.CANCELLED


def test_an_order_in_time_keeps_its_pending_payment():
    result = bank_transfer_order()

    assert orders_expire(now=timezone.now() + timedelta(days=1)) == []

    result.payment.refresh_from_db()
    assert result.payment.status == PaymentStatus.PENDING
