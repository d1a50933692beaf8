"""Checkout and payments: place the order and start paying in one transaction;
record payments confirmed by the merchant (bank transfer, cash on delivery)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext

from orders.cart import cart_payment_method_record
from orders.errors import (
    CartError,
    CheckoutError,
    NotEnoughStock,
    OrderError,
    OrderNotPlaceable,
    QuoteChanged,
)
from orders.models import Cart, Order, OrderStatus
from orders.quote import CartQuote, in_cart_language
from orders.services import order_cancel, order_mark_paid, order_place
from payments.gateways import GatewayError, NextAction, gateway_for
from payments.models import Payment, PaymentMethod, PaymentStatus, PaymentTransaction
from payments.selectors import checkout_quote_for, payment_method_for_cart
from pricing.money import quantize

__all__ = [
    "CheckoutError",
    "CheckoutResult",
    "NotEnoughStock",
    "OrderNotPlaceable",
    "PaymentError",
    "QuoteChanged",
    "cart_payment_method_set",
    "checkout_complete",
    "order_payment_cancel",
    "payment_confirm_received",
    "payment_lock",
    "payment_open",
    "payment_received",
    "payment_resume",
    "payment_start",
    "payment_sync",
]


class PaymentError(CheckoutError):
    """The payment method cannot be used or the gateway refused."""

    code = "payment_failed"


@dataclass(frozen=True)
class CheckoutResult:
    order: Order
    payment: Payment
    next_action: NextAction


@in_cart_language
def cart_payment_method_set(*, cart: Cart, code: str) -> None:
    """Choose a payment method offered for the cart; CartError when it is not."""
    if payment_method_for_cart(cart=cart, code=code) is None:
        raise CartError(
            "unknown_payment_method",
            gettext("This payment method is not available for your order."),
            field="payment_method",
        )
    cart_payment_method_record(cart=cart, code=code)


@in_cart_language
def checkout_complete(
    *, cart: Cart, payment_method_code: str, expected_total: Decimal | None = None
) -> CheckoutResult:
    """Place the cart's order and start its payment, all in one transaction.

    The quote is computed again; the order is refused when it has problems
    (OrderNotPlaceable) or its total is not ``expected_total`` (QuoteChanged).
    Stock is reserved (NotEnoughStock names the SKU), the payment started
    with the method's gateway, an outbox event written and the cart closed.
    On any error nothing is stored.
    """
    with transaction.atomic():
        # The cart's row is locked before it is read, so the quote is what gets ordered.
        list(Cart.objects.select_for_update().filter(pk=cart.pk).values_list("pk", flat=True))
        quote, method = checkout_quote_for(cart=cart, code=payment_method_code)
        if method is None:
            raise PaymentError(
                gettext("This payment method is not available for your order."),
                code="payment_method_unavailable",
            )
        if not quote.is_placeable:
            _raise_not_placeable(quote)
        if expected_total is not None and quote.total.gross != expected_total:
            raise QuoteChanged(
                expected=expected_total, actual=quote.total.gross, currency=quote.currency
            )
        gateway = _gateway(method)
        order = order_place(
            cart=cart,
            quote=quote,
            payment_method_code=method.code,
            payment_method_name=method.name_in(cart.language),
            pays_on_delivery=gateway.pays_on_delivery,
            reservation_minutes=method.reservation_minutes,
        )
        payment = payment_open(order=order, method=method)
    # The gateway is asked after the commit: a provider's network call never
    # holds the order's stock rows locked, and the order is kept when the
    # provider cannot be reached (the shopper pays from the order's page).
    action = payment_start(payment=payment)
    return CheckoutResult(order=order, payment=payment, next_action=action)


def _raise_not_placeable(quote: CartQuote) -> None:
    """NotEnoughStock when stock is all that is missing (someone bought it meanwhile)."""
    if quote.problems and all(p.code == "not_enough_stock" for p in quote.problems):
        field = quote.problems[0].field
        line = next((line for line in quote.lines if f"line:{line.line_id}" == field), None)
        if line is not None:
            raise NotEnoughStock(sku=line.sku, requested=line.quantity)
    raise OrderNotPlaceable(quote.problems)


def _gateway(method: PaymentMethod):  # type: ignore[no-untyped-def]
    try:
        return gateway_for(method.gateway)
    except GatewayError as error:
        raise PaymentError(error.message, code=error.code) from error


def payment_open(*, order: Order, method: PaymentMethod) -> Payment:
    """A payment of the order's total with ``method``, waiting to be started."""
    return Payment.objects.create(
        order=order,
        method=method,
        gateway=method.gateway,
        amount=quantize(order.total_gross, order.currency),
        currency=order.currency,
        reference=order.number,
    )


def payment_start(*, payment: Payment) -> NextAction:
    """Ask the payment's gateway what the shopper does next (a card form, bank details).

    Safe to call again (the order page does, for a payment the provider could
    not be reached for): gateways start a payment idempotently. When the
    gateway fails, the attempt is logged and the shopper is told to try again.
    """
    gateway = _gateway(payment.method)
    try:
        action = gateway.start(payment=payment)
    except GatewayError as error:
        PaymentTransaction.objects.create(
            payment=payment,
            kind=PaymentTransaction.Kind.START,
            amount=payment.amount,
            is_success=False,
            data={"error": error.code, "message": error.message},
        )
        return NextAction(
            kind="retry",
            message=gettext("%(reason)s Your order is saved: you can pay it from its page.")
            % {"reason": error.message},
        )
    if action.reference and payment.provider_id != action.reference:
        payment.provider_id = action.reference  # what the provider's notifications name
        payment.save(update_fields=["provider_id", "updated_at"])
    PaymentTransaction.objects.create(
        payment=payment,
        kind=PaymentTransaction.Kind.START,
        amount=payment.amount,
        reference=action.reference or payment.reference,
        data={"next_action": action.kind},
    )
    return action


def payment_resume(*, payment: Payment) -> NextAction:
    """What the shopper does now to pay a waiting payment (the order page's form)."""
    if payment.status != PaymentStatus.PENDING:
        return NextAction(kind="none", message="")
    gateway = _gateway(payment.method)
    if gateway.remote and not payment.provider_id:
        return payment_start(payment=payment)  # the provider was not reached at checkout
    try:
        return gateway.resume(payment=payment)
    except GatewayError as error:
        return NextAction(kind="retry", message=error.message)


def payment_received(*, payment: Payment, reference: str, by: str) -> bool:
    """The money of ``payment`` is in: the payment and its order are paid and the
    order's stock is committed. Call it in a transaction, with the order locked
    before the payment (as every payment service does).

    Returns False when nothing changed (already paid). Money that arrives for
    a cancelled order makes the payment due for refund: the merchant sees it.
    """
    if payment.status == PaymentStatus.PAID:
        return False
    order = payment.order
    if order.status == OrderStatus.CANCELLED:
        payment.status = PaymentStatus.REFUND_DUE
        note = gettext("Paid after the order was cancelled: the money is due back.")
    else:
        try:
            order_mark_paid(order=order, by=by, note=gettext("Payment received."))
        except OrderError as error:
            raise PaymentError(error.message, code=error.code) from error
        payment.status = PaymentStatus.PAID
        note = ""
    payment.save(update_fields=["status", "updated_at"])
    PaymentTransaction.objects.create(
        payment=payment,
        kind=PaymentTransaction.Kind.CAPTURE,
        amount=payment.amount,
        reference=(reference or payment.reference)[:100],
        by=by[:150],
        data={"note": note} if note else {},
    )
    return True


def payment_lock(*, order: Order, payment_id: int | None = None) -> Payment | None:
    """Lock the order, then its latest live payment (or ``payment_id``), in that order."""
    list(Order.objects.select_for_update(of=("self",)).filter(pk=order.pk).values_list("pk"))
    payments = Payment.objects.select_for_update(of=("self",)).select_related("method", "order")
    if payment_id is not None:
        return payments.filter(pk=payment_id, order=order).first()
    return (
        payments.filter(order=order)
        .exclude(status__in=[PaymentStatus.FAILED, PaymentStatus.CANCELLED])
        .order_by("-pk")
        .first()
    )


def payment_sync(*, payment: Payment, by: str = "system") -> Payment:
    """Ask the provider whether ``payment`` is made and record it if so (the shopper
    came back from paying before the provider's notification arrived)."""
    if payment.status != PaymentStatus.PENDING:
        return payment
    try:
        result = _gateway(payment.method).confirm(payment=payment, data={})
    except GatewayError as error:
        raise PaymentError(error.message, code=error.code) from error
    if not result.paid:
        return payment
    with transaction.atomic():
        locked = payment_lock(order=payment.order, payment_id=payment.pk)
        if locked is not None:
            payment_received(payment=locked, reference=result.reference, by=by)
            payment = locked
    return payment


def payment_confirm_received(*, order: Order, by: str) -> Payment:
    """The merchant received the money (bank transfer arrived, cash collected).

    Marks the payment and the order paid and commits the reserved stock.
    Idempotent: confirming a paid order again changes nothing and returns
    its payment. A cancelled order cannot be paid (PaymentError).
    """
    with transaction.atomic():
        # Lock order: the order first, then its payments (as order_payment_cancel does);
        # only their own rows, never the seller's (every checkout of the seller needs it).
        payment = payment_lock(order=order)
        if payment is None:
            raise PaymentError(
                gettext("Order %(number)s has no payment waiting.") % {"number": order.number},
                code="no_payment",
            )
        if payment.status != PaymentStatus.PENDING:
            return payment
        result = _gateway(payment.method).confirm(payment=payment, data={})
        if not result.paid:
            raise PaymentError(gettext("The payment is not complete."), code="not_paid")
        payment_received(payment=payment, reference=result.reference, by=by)
    return payment


def order_payment_cancel(
    *, order: Order, by: str, note: str = "", provider_cancelled: bool = False
) -> Order:
    """Cancel the order (stock goes back) and its payments: waiting ones are
    cancelled (at the provider too, so they can no longer be made), received
    ones become due for refund.

    A payment the shopper made meanwhile (the provider says so when asked to
    cancel it) is recorded instead and the order stays: it is paid, not
    cancelled (check ``order.paid_at``). ``provider_cancelled``: the provider
    cancelled the payments itself (its notification says so).
    """
    with transaction.atomic():
        for payment in _waiting_payments(order):
            if provider_cancelled:
                continue
            try:
                _gateway(payment.method).cancel(payment=payment)
            except GatewayError as error:
                if error.code != "already_paid":
                    raise PaymentError(error.message, code=error.code) from error
                payment_sync(payment=payment, by=by)
                order.refresh_from_db(fields=["status", "paid_at"])
                return order
        try:
            order_cancel(order=order, by=by, note=note)
        except OrderError as error:
            raise PaymentError(error.message, code=error.code) from error
        payments = (
            Payment.objects.select_for_update(of=("self",))
            .filter(order=order)
            .select_related("method")
            .order_by("pk")
        )
        for payment in payments:
            if payment.status == PaymentStatus.PENDING:
                payment.status = PaymentStatus.CANCELLED
                kind = PaymentTransaction.Kind.CANCEL
            elif payment.status == PaymentStatus.PAID:
                result = _gateway(payment.method).refund(
                    payment=payment,
                    amount=payment.amount,
                    key=f"kervan-payment-{payment.pk}-cancel-refund",
                    note=note,
                )
                payment.status = PaymentStatus.REFUND_DUE
                kind = PaymentTransaction.Kind.REFUND
                if result.paid:
                    payment.status = PaymentStatus.REFUNDED
            else:
                continue
            payment.save(update_fields=["status", "updated_at"])
            PaymentTransaction.objects.create(
                payment=payment, kind=kind, amount=payment.amount, by=by[:150], data={"note": note}
            )
    return order


def _waiting_payments(order: Order) -> list[Payment]:
    return list(
        Payment.objects.filter(order=order, status=PaymentStatus.PENDING)
        .exclude(provider_id="")
        .select_related("method", "order")
        .order_by("pk")
    )


def order_is_awaiting_payment(order: Order) -> bool:
    return order.paid_at is None and order.status != OrderStatus.CANCELLED
