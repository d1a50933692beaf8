"""E-invoice providers: where structured invoices are sent, and what they answer.

A provider sends a document, reports its status, hands out the official PDF
and cancels a document it has not passed on yet. Providers are looked up by
code (``InvoicingSettings.e_invoice_provider``). A remote provider raises
``ProviderUnavailable`` when it cannot be reached, and the Celery task retries
with backoff; ``ProviderRejected`` means the document itself was refused.

The ``sandbox`` provider runs in the shop's own database: it accepts a
document, keeps it queued for a moment, then accepts it (or rejects one that
is not well-formed, or whose e-invoice number does not fit its profile), so
the whole flow can be tried and tested here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from django.conf import settings
from django.utils import timezone
from lxml import etree

from invoicing.models import Invoice, SandboxSubmission

GIB_NUMBER = re.compile(r"^[A-Z0-9]{3}20[0-9]{2}[0-9]{9}$")


class ProviderUnavailable(Exception):
    """The provider could not be reached or answered with a server error: try later."""


class ProviderRejected(Exception):
    """The provider refused the document; the message says why."""


@dataclass(frozen=True)
class ProviderStatus:
    status: str  # "queued" | "accepted" | "rejected" | "cancelled"
    reference: str
    message: str = ""


class EInvoiceProvider(Protocol):
    code: str
    name: str

    def is_registered(self, tax_id: str) -> bool:
        """Whether the business ``tax_id`` receives e-invoices (Türkiye: the e-Fatura list)."""
        ...

    def send(self, document: Invoice) -> ProviderStatus: ...

    def status(self, document: Invoice) -> ProviderStatus: ...

    def official_pdf(self, document: Invoice) -> bytes: ...

    def cancel(self, document: Invoice) -> ProviderStatus: ...


class SandboxProvider:
    """The local provider: the flow of a real one, in this database."""

    code = "sandbox"
    name = "Sandbox (local)"

    def __init__(self) -> None:
        self.delay = timedelta(seconds=settings.EINVOICE_SANDBOX_DELAY_SECONDS)
        self.registered = set(settings.EINVOICE_SANDBOX_REGISTERED)

    def is_registered(self, tax_id: str) -> bool:
        return re.sub(r"\D", "", tax_id) in self.registered

    def send(self, document: Invoice) -> ProviderStatus:
        submission, _created = SandboxSubmission.objects.get_or_create(
            uuid=document.uuid,
            defaults={"number": document.number or "", "xml": document.xml, "status": "queued"},
        )
        return ProviderStatus(submission.status, str(submission.uuid), submission.message)

    def status(self, document: Invoice) -> ProviderStatus:
        submission = SandboxSubmission.objects.filter(uuid=document.uuid).first()
        if submission is None:
            raise ProviderRejected("The sandbox has no such document.")
        if submission.status == "queued" and timezone.now() - submission.received_at >= self.delay:
            problem = _problem(submission.xml, document.e_profile)
            submission.status = "rejected" if problem else "accepted"
            submission.message = problem or "Accepted by the sandbox."
            submission.decided_at = timezone.now()
            submission.save(update_fields=["status", "message", "decided_at"])
        return ProviderStatus(submission.status, str(submission.uuid), submission.message)

    def official_pdf(self, document: Invoice) -> bytes:
        from invoicing.pdf import invoice_pdf

        return invoice_pdf(document)

    def cancel(self, document: Invoice) -> ProviderStatus:
        submission = SandboxSubmission.objects.filter(uuid=document.uuid).first()
        if submission is None:
            raise ProviderRejected("The sandbox has no such document.")
        if submission.status == "accepted":
            raise ProviderRejected(
                "An accepted e-invoice cannot be cancelled: issue a credit note instead."
            )
        submission.status = "cancelled"
        submission.message = "Cancelled."
        submission.save(update_fields=["status", "message"])
        return ProviderStatus("cancelled", str(submission.uuid), submission.message)


def _problem(xml: str, profile: str) -> str:
    """Why the sandbox refuses a document ("" when it does not)."""
    try:
        root = etree.fromstring(xml.encode())
    except etree.XMLSyntaxError as error:
        return f"The document is not well-formed XML: {error}"
    number = root.findtext(
        "{urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2}ID"
    )
    if not number:
        return "The document has no number (cbc:ID)."
    if profile != "EN16931" and not GIB_NUMBER.match(number):
        return f"{number} does not fit the GİB pattern ABC2026000000001."
    return ""


PROVIDERS: dict[str, type[SandboxProvider]] = {"sandbox": SandboxProvider}


def provider_for(code: str) -> EInvoiceProvider | None:
    """The provider with this code (None for "" or an unknown one)."""
    provider = PROVIDERS.get(code)
    return provider() if provider else None


def provider_choices() -> list[tuple[str, str]]:
    return [("", "—"), *((code, cls.name) for code, cls in PROVIDERS.items())]
