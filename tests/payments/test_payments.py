"""Payments: methods per market, currency, country and amount; bank transfer and
cash on delivery confirmed by the merchant; commands and admin pages."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from orders.models import OrderStatus, StockReservation
from payments.demo import payments_demo_setup
from payments.gateways import GatewayError, gateway_for
from payments.models import Payment, PaymentMethod, PaymentStatus
from payments.selectors import payment_methods_for
from payments.services import (
    PaymentError,
    order_payment_cancel,
    payment_confirm_received,
    payment_open,
    payment_start,
)
from pricing.models import StockLevel
from shop import versions
from tests.orders.factories import cart_with, order_from

pytestmark = pytest.mark.usefixtures("demo_shop")


@pytest.fixture
def methods() -> dict[str, PaymentMethod]:
    return payments_demo_setup()


def placed(methods, *, market="eu", language="de", method="bank-transfer", **address):
    cart = cart_with({"KRV-TEE-M": 2}, market=market, language=language)
    if address:
        from tests.orders.factories import address_given

        address_given(cart, **address)
    gateway = gateway_for(methods[method].gateway)
    order = order_from(
        cart,
        method=method,
        minutes=methods[method].reservation_minutes,
        pays_on_delivery=gateway.pays_on_delivery,
    )
    payment = payment_open(order=order, method=methods[method])
    return order, payment, payment_start(payment=payment)


def test_the_demo_setup_is_idempotent(methods):
    again = payments_demo_setup()

    assert set(again) == set(methods) == {"card", "bank-transfer", "cash-on-delivery"}
    assert PaymentMethod.objects.count() == 3
    assert methods["bank-transfer"].reservation_minutes == 4320


def test_bank_transfer_shows_the_seller_account_and_the_order_number(methods):
    order, payment, action = placed(methods)

    assert action.kind == "bank_transfer"
    assert action.details["iban"] == "NL91ABNA0417164300"
    assert action.details["account_holder"] == "Kervan Europe B.V."
    assert action.details["reference"] == order.number
    assert action.details["amount"] == "59.80"
    assert order.number in action.message
    assert (payment.amount, payment.currency, payment.status) == (
        Decimal("59.80"),
        "EUR",
        PaymentStatus.PENDING,
    )
    assert payment.transactions.get().kind == "start"


def test_confirming_a_bank_transfer_marks_the_order_paid_once(methods):
    order, _payment, _action = placed(methods)
    level = StockLevel.objects.get(variant__sku="KRV-TEE-M", pool__code="rotterdam")

    payment_confirm_received(order=order, by="anna")
    again = payment_confirm_received(order=order, by="anna")

    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert again.status == PaymentStatus.PAID
    assert again.transactions.filter(kind="capture").count() == 1
    after = StockLevel.objects.get(pk=level.pk)
    assert (after.quantity, after.reserved) == (level.quantity - 2, level.reserved - 2)


def test_a_cancelled_order_cannot_be_paid(methods):
    order, _payment, _action = placed(methods)
    order_payment_cancel(order=order, by="anna")

    with pytest.raises(PaymentError) as caught:
        payment_confirm_received(order=order, by="anna")

    assert caught.value.code == "no_payment"
    assert Payment.objects.get().status == PaymentStatus.CANCELLED
    assert StockReservation.objects.get().state == "released"


def test_cancelling_a_paid_order_makes_its_payment_due_for_refund(methods):
    order, _payment, _action = placed(methods)
    payment_confirm_received(order=order, by="anna")

    order_payment_cancel(order=order, by="anna")

    assert Payment.objects.get().status == PaymentStatus.REFUND_DUE


def test_a_shipped_order_cannot_be_cancelled(methods):
    order, _payment, _action = placed(methods)
    payment_confirm_received(order=order, by="anna")
    from orders.services import shipment_create

    shipment_create(
        order=order, lines={order.lines.get().pk: 2}, method_id=None, tracking_number="", by="b"
    )

    with pytest.raises(PaymentError) as caught:
        order_payment_cancel(order=order, by="anna")

    assert caught.value.code == "illegal_transition"


def test_cash_on_delivery_ships_unpaid_and_is_paid_when_collected(methods):
    order, _payment, action = placed(
        methods,
        market="tr",
        language="tr",
        method="cash-on-delivery",
        country_id="TR",
        city="İstanbul",
        postal_code="34710",
    )
    from orders.services import order_deliver, shipment_create

    assert action.kind == "pay_on_delivery"
    assert order.pays_on_delivery and order.reservation_expires_at is None
    shipment_create(
        order=order, lines={order.lines.get().pk: 2}, method_id=None, tracking_number="", by="b"
    )
    order_deliver(order=order, by="carrier")
    payment_confirm_received(order=order, by="courier")

    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED
    assert order.paid_at is not None
    assert Payment.objects.get().status == PaymentStatus.PAID


def test_unknown_gateways_are_refused():
    with pytest.raises(GatewayError):
        gateway_for("carrier-pigeon")


def test_methods_follow_market_currency_and_amount(methods):
    eu_cart = cart_with({"KRV-TEE-M": 1})
    tr_cart = cart_with({"KRV-TEE-M": 1}, market="tr", language="tr")

    assert [m.code for m in payment_methods_for(cart=eu_cart)] == ["bank-transfer"]
    # Cash on delivery waits for a Turkish address.
    assert [m.code for m in payment_methods_for(cart=tr_cart)] == ["bank-transfer"]

    methods["bank-transfer"].min_order_amount = Decimal("100")  # EUR
    methods["bank-transfer"].save()
    versions.retire_now(versions.PAYMENTS)  # as the admin does once it commits
    assert payment_methods_for(cart=eu_cart) == []


def test_order_show_prints_everything_support_needs(methods, capsys):
    order, _payment, _action = placed(methods)
    payment_confirm_received(order=order, by="anna")

    call_command("order_show", order.number)
    output = capsys.readouterr().out

    for expected in [
        order.number,
        "[paid]",
        "KRV-TEE-M",
        "59.80 EUR",
        "bank-transfer",
        "committed",
        "pending_payment → paid by anna",
    ]:
        assert expected in output


def test_order_confirm_payment_marks_the_order_paid(methods, capsys):
    order, _payment, _action = placed(methods)

    call_command("order_confirm_payment", order.number)
    call_command("order_confirm_payment", order.number)

    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert "already paid" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["order_show", "order_confirm_payment"])
@pytest.mark.parametrize("number", ["KRV-1999-000000", "", "x" * 500, "KRV\x00"])
def test_unknown_order_numbers_are_a_clear_error(command, number):
    with pytest.raises(CommandError, match="No order"):
        call_command(command, number)


def test_confirming_a_cancelled_order_is_refused_and_changes_nothing(methods):
    order, _payment, _action = placed(methods)
    order_payment_cancel(order=order, by="anna")

    with pytest.raises(CommandError, match=order.number):
        call_command("order_confirm_payment", order.number)

    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED


def test_stock_reconcile_reports_and_fixes(methods, capsys):
    placed(methods)
    level = StockLevel.objects.get(variant__sku="KRV-TEE-M", pool__code="rotterdam")
    StockLevel.objects.filter(pk=level.pk).update(reserved=5)

    call_command("stock_reconcile")
    assert "KRV-TEE-M @ rotterdam: reserved 5, open reservations 2" in capsys.readouterr().out
    assert StockLevel.objects.get(pk=level.pk).reserved == 5

    call_command("stock_reconcile", "--fix")
    assert StockLevel.objects.get(pk=level.pk).reserved == 2
    call_command("stock_reconcile")
    assert "agree" in capsys.readouterr().out


@pytest.fixture
def admin_client(client):
    user = get_user_model().objects.create_superuser("admin", "admin@example.com", "pw")
    client.force_login(user)
    return client


def test_admin_order_pages_answer(admin_client, methods):
    order, _payment, _action = placed(methods)

    pages = [
        "/admin/orders/order/",
        "/admin/orders/order/?status__exact=pending_payment&market__id__exact=1",
        f"/admin/orders/order/?q={order.number}",
        "/admin/orders/order/?q=Mustermann",
        f"/admin/orders/order/{order.pk}/change/",
        f"/admin/orders/order/{order.pk}/ship/",
        "/admin/orders/stockreservation/",
        "/admin/orders/outboxevent/",
        "/admin/orders/cart/",
        "/admin/payments/paymentmethod/",
        f"/admin/payments/paymentmethod/{methods['bank-transfer'].pk}/change/",
    ]
    for page in pages:
        assert admin_client.get(page).status_code == 200, page
    listing = admin_client.get(f"/admin/orders/order/?q={order.number}").content.decode()
    assert order.number in listing


def test_admin_actions_confirm_and_cancel(admin_client, methods):
    paid, _p, _a = placed(methods)
    cancelled, _p2, _a2 = placed(methods)

    admin_client.post(
        "/admin/orders/order/",
        {"action": "confirm_payment", "_selected_action": [paid.pk]},
    )
    admin_client.post(
        "/admin/orders/order/",
        {"action": "cancel_orders", "_selected_action": [cancelled.pk]},
    )

    paid.refresh_from_db()
    cancelled.refresh_from_db()
    assert (paid.status, cancelled.status) == ("paid", "cancelled")


def test_admin_creates_a_partial_shipment(admin_client, methods):
    order, _p, _a = placed(methods)
    payment_confirm_received(order=order, by="anna")
    line = order.lines.get()

    response = admin_client.post(
        f"/admin/orders/order/{order.pk}/ship/",
        {f"line_{line.pk}": "1", "carrier": "DHL", "tracking_number": "JD0001", "method_id": ""},
    )

    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.PARTIALLY_SHIPPED
    assert order.shipments.get().tracking_number == "JD0001"
    page = admin_client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    assert "JD0001" in page
