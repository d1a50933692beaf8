"""Sending structured invoices to the seller's e-invoice provider, and following
their status until the provider accepts or rejects them.

Every exchange is recorded (``EInvoiceEvent``) and the document's status is
shown in the admin, so support can see what happened. A document is never
lost: it is stored when issued, and a failed send leaves it ``failed`` for the
retrying task and the periodic resend.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from invoicing.models import EInvoiceEvent, EInvoiceStatus, Invoice
from invoicing.providers import ProviderRejected, ProviderStatus, ProviderUnavailable, provider_for

logger = logging.getLogger(__name__)

OUTCOMES = {
    "queued": EInvoiceStatus.SENT,
    "accepted": EInvoiceStatus.ACCEPTED,
    "rejected": EInvoiceStatus.REJECTED,
    "cancelled": EInvoiceStatus.CANCELLED,
}
FINAL = {EInvoiceStatus.ACCEPTED, EInvoiceStatus.REJECTED, EInvoiceStatus.CANCELLED}


def _record(document: Invoice, action: str, status: str, message: str, **fields: object) -> None:
    Invoice.objects.filter(pk=document.pk).update(
        e_status=status, e_message=message[:2000], e_updated_at=timezone.now(), **fields
    )
    EInvoiceEvent.objects.create(
        invoice=document, action=action, outcome=status, detail=message[:2000]
    )


def _apply(document: Invoice, action: str, answer: ProviderStatus) -> str:
    status = OUTCOMES.get(answer.status, EInvoiceStatus.SENT)
    _record(document, action, status, answer.message, e_reference=answer.reference[:100])
    return status


def e_invoice_send(invoice_id: int) -> str:
    """Send the document to its provider unless it was sent; the status after.

    The row stays locked while the provider is asked, so two workers never send
    it twice. An outage is recorded and ``ProviderUnavailable`` raised again
    (the task retries); a refusal is recorded.
    """
    with transaction.atomic():
        document = Invoice.objects.select_for_update().filter(pk=invoice_id).first()
        if document is None or not document.e_provider:
            return "nothing to send"
        if document.e_status not in {EInvoiceStatus.PENDING, EInvoiceStatus.FAILED}:
            return str(document.e_status)
        attempt = {"e_attempts": F("e_attempts") + 1}
        provider = provider_for(document.e_provider)
        if provider is None:
            message = f"Unknown provider {document.e_provider}."
            _record(document, "send", EInvoiceStatus.FAILED, message, **attempt)
            return EInvoiceStatus.FAILED
        try:
            answer = provider.send(document)
        except ProviderUnavailable as error:
            failure = str(error) or type(error).__name__
        except ProviderRejected as error:
            _record(document, "send", EInvoiceStatus.REJECTED, str(error), **attempt)
            return EInvoiceStatus.REJECTED
        else:
            status = OUTCOMES.get(answer.status, EInvoiceStatus.SENT)
            _record(
                document,
                "send",
                status,
                answer.message,
                e_reference=answer.reference[:100],
                **attempt,
            )
            return status
    _record(document, "send", EInvoiceStatus.FAILED, failure, **attempt)
    raise ProviderUnavailable(failure)


def e_invoice_poll(invoice_id: int) -> str:
    """Ask the provider for the status of a sent document; the status after."""
    document = Invoice.objects.filter(pk=invoice_id).first()
    if document is None or document.e_status != EInvoiceStatus.SENT:
        return str(document.e_status) if document else "no such document"
    provider = provider_for(document.e_provider)
    if provider is None:
        return str(document.e_status)
    try:
        answer = provider.status(document)
    except ProviderRejected as error:
        _record(document, "status", EInvoiceStatus.REJECTED, str(error))
        return EInvoiceStatus.REJECTED
    return _apply(document, "status", answer)


def e_invoice_cancel(document: Invoice) -> str:
    """Cancel a document the provider has not passed on (raises ``ProviderRejected``)."""
    provider = provider_for(document.e_provider)
    if provider is None:
        raise ProviderRejected("This document has no e-invoice provider.")
    return _apply(document, "cancel", provider.cancel(document))
