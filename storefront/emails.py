"""Order e-mails: received (with bank details for a transfer), paid, shipped (per
shipment, with the carrier's tracking link), cancelled and refunded.

Each is written in the order's language with its amounts formatted as the
shopper reads them, as HTML with a plain-text part. Orders write an outbox
event in their own transaction; the outbox drain hands it here after the
commit and a Celery task sends it, retried with backoff while the mail server
fails. An event is sent once (``SentEmail``), however often the task runs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext_lazy

from orders.models import Order, OutboxEvent, Shipment
from payments.models import PaymentStatus, Refund
from shop.formatting import format_money
from storefront.cart_cookies import order_page_path
from storefront.models import SentEmail

logger = logging.getLogger(__name__)

SUBJECTS = {
    "order.placed": gettext_lazy("We have received your order %(number)s"),
    "order.paid": gettext_lazy("Payment received for order %(number)s"),
    "order.shipped": gettext_lazy("Your order %(number)s is on its way"),
    "order.cancelled": gettext_lazy("Your order %(number)s is cancelled"),
    "order.refunded": gettext_lazy("Refund for your order %(number)s"),
}


def order_email_enqueue(event: OutboxEvent) -> None:
    """Outbox handler: queue the e-mail of an order event (others are not e-mailed).

    A broker outage raises here, and the outbox keeps the event for its next run.
    """
    if event.kind not in SUBJECTS or event.order_id is None:
        return
    from storefront.tasks import order_email_send

    order_email_send.apply_async(args=(event.pk,))


def order_email_deliver(event_id: int) -> str:
    """Send the e-mail of outbox event ``event_id`` unless it was sent; what happened."""
    event = OutboxEvent.objects.select_related("order").filter(pk=event_id).first()
    if event is None or event.order is None or event.kind not in SUBJECTS:
        return "nothing to send"
    with transaction.atomic():
        # One sender at a time per event: a second task waits, then sees it was sent.
        list(OutboxEvent.objects.select_for_update().filter(pk=event_id).values_list("pk"))
        if SentEmail.objects.filter(event_id=event_id).exists():
            return "already sent"
        message = order_email(event)
        if message is None:
            return "no address"
        message.send()
        SentEmail.objects.create(
            event=event,
            order=event.order,
            kind=event.kind,
            to=message.to[0],
            subject=str(message.subject)[:250],
            language=event.order.language,
        )
    logger.info("Order e-mail %s for %s sent", event.kind, event.order.number)
    return "sent"


def order_email(event: OutboxEvent) -> EmailMultiAlternatives | None:
    """The e-mail of an order event, ready to send (None when the order has no address)."""
    order = event.order
    if order is None or not order.email:
        return None
    with translation.override(order.language):
        context = _context(event, order)
        subject = str(SUBJECTS[event.kind]) % {"number": order.number}
        text = render_to_string("emails/order.txt", context)
        html = render_to_string("emails/order.html", context)
    seller_email = order.seller_as_sold.get("email") or ""
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[order.email],
        reply_to=[seller_email] if seller_email else None,
        headers={"X-Kervan-Order": order.number},
    )
    message.attach_alternative(html, "text/html")
    return message


@dataclass(frozen=True)
class _Line:
    name: str
    sku: str
    quantity: int
    amount: str


def _context(event: OutboxEvent, order: Order) -> dict[str, Any]:
    def money(amount: Decimal | None) -> str:
        if amount is None:
            return ""
        return format_money(
            amount, order.currency, language=order.language, country=order.shipping_country
        )

    lines = [
        _Line(line.name, line.sku, line.quantity, money(line.line_gross))
        for line in order.lines.all()
    ]
    context: dict[str, Any] = {
        "kind": event.kind.removeprefix("order."),
        "order": order,
        "lines": lines,
        "total": money(order.total_gross),
        "shipping": money(order.shipping_gross) if order.shipping_method_name else "",
        "seller": order.seller_as_sold,
        "order_url": _order_url(order),
        "greeting": order.shipping_first_name or order.billing_first_name,
    }
    if event.kind == "order.placed":
        payment = order.payments.order_by("-pk").first()
        if payment is not None and payment.status == PaymentStatus.PENDING:
            context["bank_transfer"] = payment.gateway == "bank_transfer"
            context["pay_on_delivery"] = order.pays_on_delivery
            context["pay_by_card"] = payment.gateway == "stripe"
            context["amount_due"] = money(payment.amount)
    elif event.kind == "order.shipped":
        shipment = (
            Shipment.objects.filter(pk=event.payload.get("shipment"), order=order)
            .prefetch_related("lines__order_line")
            .first()
        )
        if shipment is not None:
            context["shipment"] = shipment
            context["shipped_lines"] = [
                _Line(item.order_line.name, item.order_line.sku, item.quantity, "")
                for item in shipment.lines.all()
            ]
            context["complete"] = bool(event.payload.get("complete"))
    elif event.kind == "order.refunded":
        refund = Refund.objects.filter(pk=event.payload.get("refund"), order=order).first()
        if refund is not None:
            context["refund_amount"] = money(refund.amount)
            context["refund_by_hand"] = refund.status == Refund.Status.MANUAL
            context["refund_lines"] = [
                _Line(item.order_line.name, item.order_line.sku, item.quantity, money(item.amount))
                for item in refund.lines.select_related("order_line")
            ]
            context["refund_shipping"] = (
                money(refund.shipping_amount) if refund.shipping_amount else ""
            )
    return context


def _order_url(order: Order) -> str:
    return settings.SITE_URL.rstrip("/") + order_page_path(order)
