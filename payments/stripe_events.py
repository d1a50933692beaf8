"""Stripe's webhook events: verified, recorded once, and acted on.

Every event is checked against the ``Stripe-Signature`` header with each
webhook signing secret the shop knows (one endpoint serves every seller) and
refused when its timestamp is older than the tolerance. Its id is stored in
the same transaction that acts on it (``GatewayEvent``), so a repeated or
parallel delivery acts once. Events may arrive in any order: each one acts
only if the payment is still in a state it applies to.

- ``payment_intent.succeeded``: the payment and its order are paid and the
  stock is committed (once); an intent for less or another currency is
  recorded, not accepted.
- ``payment_intent.payment_failed``: the attempt is recorded; the order keeps
  its stock for ``CARD_RETRY_MINUTES`` more at most, for another card, then
  expires and gives it back (cancelling the intent at Stripe first, so it
  can no longer be paid).
- ``payment_intent.canceled``: the order is cancelled and its stock released.
- ``charge.refunded`` and ``charge.dispute.created``: recorded on the payment.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import stripe
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from orders.models import Order, OrderStatus
from payments.models import GatewayEvent, Payment, PaymentStatus, PaymentTransaction
from payments.services import order_payment_cancel, payment_lock, payment_received
from payments.stripe_gateway import StripeKeys, amount_from_stripe, intent_result, webhook_secrets

logger = logging.getLogger(__name__)

GATEWAY = "stripe"


class WebhookRefused(Exception):
    """Not an authentic, fresh Stripe event: nothing was recorded."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def stripe_webhook_receive(*, body: bytes, signature: str) -> str:
    """Verify, record once and act on one event; returns what it did (for the log).

    WebhookRefused for a forged, stale or malformed request. An error while
    acting rolls everything back (the event is not recorded), so Stripe's
    next delivery tries again.
    """
    _verify(body, signature)
    try:
        event = json.loads(body)
        event_id, kind = str(event["id"]), str(event["type"])
        data = event["data"]["object"]
        created = datetime.fromtimestamp(int(event.get("created") or 0), tz=UTC)
    except (ValueError, KeyError, TypeError) as error:
        raise WebhookRefused("malformed", gettext("Not a Stripe event.")) from error
    if not isinstance(data, dict):
        raise WebhookRefused("malformed", gettext("Not a Stripe event."))
    with transaction.atomic():
        record, new = GatewayEvent.objects.get_or_create(
            gateway=GATEWAY,
            event_id=event_id[:100],
            defaults={"kind": kind[:100], "payload": event, "created_at_provider": created},
        )
        if not new:
            return "duplicate"
        outcome, payment = _act(kind, data)
        record.outcome, record.payment = outcome[:200], payment
        record.save(update_fields=["outcome", "payment"])
    logger.info("Stripe event %s (%s): %s", event_id, kind, outcome)
    return outcome


def _verify(body: bytes, signature: str) -> StripeKeys:
    tolerance = settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS
    for keys in webhook_secrets():
        try:
            stripe.WebhookSignature.verify_header(body, signature, keys.webhook_secret, tolerance)
        except stripe.SignatureVerificationError as error:
            if "tolerance" in str(error):
                raise WebhookRefused("stale", gettext("The event is too old.")) from error
            continue
        if _timestamp(signature) > time.time() + tolerance:
            raise WebhookRefused("stale", gettext("The event is dated in the future."))
        return keys
    raise WebhookRefused("bad_signature", gettext("The signature does not match."))


def _timestamp(signature: str) -> int:
    for part in signature.split(","):
        name, _, value = part.partition("=")
        if name.strip() == "t" and value.strip().isdigit():
            return int(value)
    return 0


def _act(kind: str, data: dict[str, Any]) -> tuple[str, Payment | None]:
    if kind.startswith("payment_intent."):
        intent_id = str(data.get("id", ""))
    elif kind.startswith("charge."):
        intent_id = str(data.get("payment_intent") or "")
    else:
        return "ignored: not an event the shop uses", None
    handler = _HANDLERS.get(kind)
    if handler is None:
        return "ignored: not an event the shop uses", None
    payment = _locked_payment(intent_id)
    if payment is None:
        return f"ignored: no payment for intent {intent_id or '(none)'}", None
    return handler(payment, data), payment


def _locked_payment(intent_id: str) -> Payment | None:
    """The payment of a PaymentIntent, locked after its order (the services' lock order)."""
    if not intent_id:
        return None
    found = (
        Payment.objects.filter(gateway=GATEWAY, provider_id=intent_id)
        .values_list("pk", "order_id")
        .first()
    )
    if found is None:
        return None
    payment_id, order_id = found
    return payment_lock(order=Order(pk=order_id), payment_id=payment_id)


def _succeeded(payment: Payment, intent: dict[str, Any]) -> str:
    result = intent_result(payment, intent)
    if not result.paid:
        _log(payment, PaymentTransaction.Kind.CAPTURE, intent, success=False)
        return "refused: the intent does not pay the whole amount in the order's currency"
    if not payment_received(payment=payment, reference=result.reference, by="stripe"):
        return "no change: already paid"
    if payment.status == PaymentStatus.REFUND_DUE:
        return "paid after the order was cancelled: refund due"
    return "paid"


def _failed(payment: Payment, intent: dict[str, Any]) -> str:
    error = intent.get("last_payment_error") or {}
    _log(
        payment,
        PaymentTransaction.Kind.FAIL,
        intent,
        success=False,
        note=str(error.get("message") or error.get("code") or ""),
    )
    if payment.status != PaymentStatus.PENDING:
        return f"recorded: the payment is {payment.status}"
    order = payment.order
    deadline = timezone.now() + timedelta(minutes=settings.CARD_RETRY_MINUTES)
    if order.status == OrderStatus.PENDING_PAYMENT and (
        order.reservation_expires_at is None or order.reservation_expires_at > deadline
    ):
        Order.objects.filter(pk=order.pk).update(reservation_expires_at=deadline)
    return "recorded: attempt failed, stock held for another try"


def _canceled(payment: Payment, intent: dict[str, Any]) -> str:
    _log(payment, PaymentTransaction.Kind.CANCEL, intent, success=True)
    if payment.status != PaymentStatus.PENDING or payment.order.status == OrderStatus.CANCELLED:
        return f"no change: the payment is {payment.status}"
    order_payment_cancel(
        order=payment.order,
        by="stripe",
        note=gettext("The card payment was cancelled."),
        provider_cancelled=True,
    )
    return "cancelled: stock released"


def _refunded(payment: Payment, charge: dict[str, Any]) -> str:
    currency = str(charge.get("currency") or payment.currency)
    refunded = amount_from_stripe(int(charge.get("amount_refunded") or 0), currency)
    _log(payment, PaymentTransaction.Kind.WEBHOOK, charge, success=True, amount=refunded)
    if refunded >= payment.amount and payment.status in {
        PaymentStatus.PAID,
        PaymentStatus.REFUND_DUE,
    }:
        payment.status = PaymentStatus.REFUNDED
        payment.save(update_fields=["status", "updated_at"])
        return "refunded in full"
    return f"recorded: {refunded} {currency.upper()} refunded"


def _disputed(payment: Payment, dispute: dict[str, Any]) -> str:
    currency = str(dispute.get("currency") or payment.currency)
    amount = amount_from_stripe(int(dispute.get("amount") or 0), currency)
    _log(
        payment,
        PaymentTransaction.Kind.DISPUTE,
        dispute,
        success=False,
        amount=amount,
        note=str(dispute.get("reason") or ""),
    )
    return f"recorded: dispute of {amount} {currency.upper()} ({dispute.get('reason') or '?'})"


def _log(
    payment: Payment,
    kind: str,
    data: dict[str, Any],
    *,
    success: bool,
    amount: Decimal | None = None,
    note: str = "",
) -> None:
    PaymentTransaction.objects.create(
        payment=payment,
        kind=kind,
        amount=payment.amount if amount is None else amount,
        is_success=success,
        reference=str(data.get("id", ""))[:100],
        by="stripe",
        data={"status": str(data.get("status", "")), **({"note": note} if note else {})},
    )


_HANDLERS = {
    "payment_intent.succeeded": _succeeded,
    "payment_intent.payment_failed": _failed,
    "payment_intent.canceled": _canceled,
    "charge.refunded": _refunded,
    "charge.dispute.created": _disputed,
}
