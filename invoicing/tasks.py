"""Background work of invoicing: issuing documents after order events, and the
e-invoice exchange with the provider (retried with backoff)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from invoicing import einvoice
from invoicing.models import EInvoiceStatus, Invoice
from invoicing.providers import ProviderUnavailable
from invoicing.services import (
    InvoicingError,
    credit_note_for_cancellation,
    credit_note_for_refund,
    invoice_issue,
    refund_amounts,
)
from orders.models import Order
from shop.tasks import RETRIES, retrying_task

POLL_SECONDS = 60


@retrying_task(OperationalError, time_limit=300)
def invoice_issue_task(order_id: int) -> str:
    """Issue the order's invoice (running again returns the same one)."""
    order = Order.objects.select_related("seller").filter(pk=order_id).first()
    if order is None:
        return "no such order"
    try:
        return invoice_issue(order=order, by="invoicing").number or ""
    except InvoicingError as error:
        return error.message


@retrying_task(OperationalError, time_limit=300)
def credit_note_task(order_id: int, event: str, payload: dict[str, Any]) -> str:
    """The credit note of a refund or a cancellation (once per refund or order)."""
    order = Order.objects.select_related("seller").filter(pk=order_id).first()
    if order is None:
        return "no such order"
    note: Invoice | None
    try:
        if event == "order.refunded":
            lines, shipping, other = refund_amounts(payload, order.currency)
            note = credit_note_for_refund(
                order=order,
                refund_id=int(payload["refund"]),
                lines=lines,
                shipping=shipping,
                other=other,
                by="invoicing",
            )
        else:
            note = credit_note_for_cancellation(order=order, by="invoicing")
    except InvoicingError as error:
        return error.message
    return note.number or "" if note else "nothing to credit"


@retrying_task(ProviderUnavailable, bind=True, time_limit=300)
def e_invoice_send(self: Any, invoice_id: int) -> str:
    """Send to the provider; a provider outage retries with backoff. Then follow up."""
    status = einvoice.e_invoice_send(invoice_id)
    if status == EInvoiceStatus.SENT:
        e_invoice_poll.apply_async(args=(invoice_id,), countdown=POLL_SECONDS)
    return str(status)


@retrying_task(ProviderUnavailable, bind=True, time_limit=300)
def e_invoice_poll(self: Any, invoice_id: int) -> str:
    """Ask for the provider's answer until it is final (every minute, then backing off)."""
    status = einvoice.e_invoice_poll(invoice_id)
    if status == EInvoiceStatus.SENT and self.request.retries < RETRIES:
        raise self.retry(countdown=POLL_SECONDS * 2**self.request.retries)
    return str(status)


@shared_task(acks_late=True, time_limit=300)
def e_invoice_resend() -> int:
    """Periodic: hand documents still waiting (broker outage, retries used up) to the
    send or poll task again. Returns how many."""
    stale = timezone.now() - timedelta(minutes=10)
    waiting = Invoice.objects.filter(
        e_status__in=[EInvoiceStatus.PENDING, EInvoiceStatus.FAILED, EInvoiceStatus.SENT],
        created_at__lt=stale,
    ).exclude(e_updated_at__gte=stale)
    count = 0
    for pk, status in waiting.values_list("pk", "e_status")[:500]:
        task = e_invoice_poll if status == EInvoiceStatus.SENT else e_invoice_send
        task.apply_async(args=(pk,))
        count += 1
    return count
