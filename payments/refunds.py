"""Refunds: money given back for units, shipping or an amount, through the gateway
that took the payment (Stripe), or recorded with the merchant's reference when the
money goes back by hand (bank transfer, cash on delivery).

A refund request carries a key (the admin form's, an API's idempotency key):
asking again with the same key returns the first refund and refunds nothing
more, so a double click never refunds twice. A refund is refused, with a
message and nothing changed, when the order is not paid, when it asks more
than was paid and not refunded yet, or more units than were sold.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext

from orders.models import Order, OrderLine
from orders.services import order_line_restock, outbox_write
from payments.gateways import GatewayError, gateway_for
from payments.models import Payment, PaymentStatus, PaymentTransaction, Refund, RefundLine
from payments.services import PaymentError, payment_lock
from pricing.money import quantize

# Payments whose money came in (some of it may have gone back since).
RECEIVED = (PaymentStatus.PAID, PaymentStatus.REFUND_DUE, PaymentStatus.REFUNDED)


class RefundError(PaymentError):
    """The refund was refused; nothing was refunded or recorded."""

    code = "refund_refused"


@dataclass(frozen=True)
class RefundRequest:
    """What to give back: ``lines`` (order line id → units), the shipping still not
    refunded, and an ``amount`` besides them (a goodwill gesture, a price error)."""

    lines: Mapping[int, int] = field(default_factory=dict)
    shipping: bool = False
    amount: Decimal = Decimal(0)
    restock: bool = False
    reference: str = ""
    note: str = ""


@dataclass(frozen=True)
class OrderBalance:
    """What an order cost, what came in and what went back."""

    currency: str
    total: Decimal
    paid: Decimal
    refunded: Decimal
    refunded_units: Mapping[int, int]  # order line id → units refunded
    refunded_line_amounts: Mapping[int, Decimal]
    refunded_shipping: Decimal

    @property
    def balance(self) -> Decimal:
        """What the merchant keeps: paid less refunded."""
        return self.paid - self.refunded

    @property
    def refundable(self) -> Decimal:
        return max(self.balance, Decimal(0))

    @property
    def due(self) -> Decimal:
        """What the shopper still owes (nothing once paid)."""
        return max(self.total - self.paid, Decimal(0))


def order_balance(order: Order) -> OrderBalance:
    """Paid, refunded and due for ``order`` (three queries)."""
    paid = Payment.objects.filter(order=order, status__in=RECEIVED).aggregate(s=Sum("amount"))[
        "s"
    ] or Decimal(0)
    refunds = Refund.objects.filter(order=order).aggregate(
        s=Sum("amount"), ship=Sum("shipping_amount")
    )
    units: dict[int, int] = {}
    amounts: dict[int, Decimal] = {}
    for line_id, quantity, amount in RefundLine.objects.filter(refund__order=order).values_list(
        "order_line_id", "quantity", "amount"
    ):
        units[line_id] = units.get(line_id, 0) + quantity
        amounts[line_id] = amounts.get(line_id, Decimal(0)) + amount
    return OrderBalance(
        currency=order.currency,
        total=quantize(order.total_gross, order.currency),
        paid=quantize(paid, order.currency),
        refunded=quantize(refunds["s"] or Decimal(0), order.currency),
        refunded_units=units,
        refunded_line_amounts=amounts,
        refunded_shipping=refunds["ship"] or Decimal(0),
    )


def order_refund(*, order: Order, request: RefundRequest, key: str, by: str) -> Refund:
    """Give money back for ``order`` as ``request`` says; the same ``key`` refunds once.

    Card payments are refunded at the provider (its refund id is the
    reference); money paid by hand is recorded as refunded by hand and needs
    the merchant's ``reference``. Units may go back to stock (``restock``).
    """
    key = key.strip()[:100]
    if not key:
        raise RefundError(gettext("The refund request has no key; please open the form again."))
    with transaction.atomic():
        payment = payment_lock(order=order)  # the order first: one refund at a time
        earlier = Refund.objects.filter(key=key).first()
        if earlier is not None:
            if earlier.order_id != order.pk:
                raise RefundError(gettext("This refund request belongs to another order."))
            return earlier
        if payment is None or payment.status not in RECEIVED:
            raise RefundError(
                gettext("Order %(number)s is not paid: there is nothing to refund.")
                % {"number": order.number}
            )
        balance = order_balance(order)
        lines = _refunded_lines(order, request.lines, balance)
        shipping = _shipping(order, request.shipping, balance)
        extra = quantize(request.amount, order.currency)
        if extra < 0:
            raise RefundError(gettext("An amount to refund cannot be negative."))
        total = sum((amount for _line, _units, amount in lines), Decimal(0)) + shipping + extra
        if total <= 0:
            raise RefundError(gettext("Choose units, the shipping or an amount to refund."))
        if total > balance.refundable:
            raise RefundError(
                gettext(
                    "%(amount)s %(currency)s is more than can be refunded: %(left)s %(currency)s "
                    "(paid %(paid)s, refunded %(refunded)s)."
                )
                % {
                    "amount": total,
                    "currency": order.currency,
                    "left": balance.refundable,
                    "paid": balance.paid,
                    "refunded": balance.refunded,
                }
            )
        status, reference = _give_back(payment, total, key, request)
        refund = Refund.objects.create(
            order=order,
            payment=payment,
            key=key,
            amount=total,
            currency=order.currency,
            shipping_amount=shipping,
            status=status,
            reference=reference[:100],
            note=request.note[:500],
            restocked=request.restock and bool(lines),
            created_by=by[:150],
        )
        RefundLine.objects.bulk_create(
            RefundLine(refund=refund, order_line=line, quantity=units, amount=amount)
            for line, units, amount in lines
        )
        if request.restock:
            for line, units, _amount in lines:
                order_line_restock(line=line, quantity=units)
        PaymentTransaction.objects.create(
            payment=payment,
            kind=PaymentTransaction.Kind.REFUND,
            amount=total,
            reference=reference[:100],
            by=by[:150],
            data={
                "refund": refund.pk,
                "status": status,
                **({"note": request.note} if request.note else {}),
            },
        )
        if total == balance.refundable:
            payment.status = PaymentStatus.REFUNDED
            payment.save(update_fields=["status", "updated_at"])
        outbox_write(
            kind="order.refunded",
            order=order,
            payload={
                "number": order.number,
                "refund": refund.pk,
                "amount": str(total),
                # What was refunded, for the credit note: [line id, units, gross]
                "lines": [[line.pk, units, str(amount)] for line, units, amount in lines],
                "shipping": str(shipping),
                "other": str(extra),
            },
        )
    return refund


def _refunded_lines(
    order: Order, requested: Mapping[int, int], balance: OrderBalance
) -> list[tuple[OrderLine, int, Decimal]]:
    wanted = {line_id: units for line_id, units in requested.items() if units}
    lines = {line.pk: line for line in OrderLine.objects.filter(order=order, pk__in=list(wanted))}
    chosen = []
    for line_id, units in sorted(wanted.items()):
        line = lines.get(line_id)
        if line is None:
            raise RefundError(gettext("Line %(line)s is not in this order.") % {"line": line_id})
        done = balance.refunded_units.get(line_id, 0)
        if units < 0 or done + units > line.quantity:
            raise RefundError(
                gettext("%(sku)s: %(left)s of %(sold)s units are left to refund, not %(units)s.")
                % {
                    "sku": line.sku,
                    "left": line.quantity - done,
                    "sold": line.quantity,
                    "units": units,
                }
            )
        if done + units == line.quantity:  # the last units take what is left, to the cent
            amount = line.line_gross - balance.refunded_line_amounts.get(line_id, Decimal(0))
        else:
            amount = line.line_gross * units / line.quantity
        chosen.append((line, units, quantize(amount, order.currency)))
    return chosen


def _shipping(order: Order, wanted: bool, balance: OrderBalance) -> Decimal:
    if not wanted:
        return Decimal(0)
    left = quantize(order.shipping_gross - balance.refunded_shipping, order.currency)
    if left <= 0:
        raise RefundError(gettext("The shipping is refunded already."))
    return left


def _give_back(
    payment: Payment, amount: Decimal, key: str, request: RefundRequest
) -> tuple[str, str]:
    """Refund at the provider, or record a refund made by hand: (status, reference)."""
    gateway = gateway_for(payment.gateway)
    if not gateway.remote:
        if not request.reference.strip():
            raise RefundError(
                gettext(
                    "This order was paid by hand: refund it by hand too and enter the "
                    "reference of your transfer."
                )
            )
        return Refund.Status.MANUAL, request.reference.strip()
    try:
        result = gateway.refund(
            payment=payment, amount=amount, key=f"kervan-refund-{key}", note=request.note
        )
    except GatewayError as error:
        raise RefundError(error.message, code=error.code) from error
    status = (
        Refund.Status.SUCCEEDED
        if result.data.get("status") == "succeeded"
        else Refund.Status.PENDING
    )
    return status, result.reference
