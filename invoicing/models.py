"""Invoices, credit notes and proformas, their numbering series, and how each is
sent as a structured e-invoice.

A document freezes everything it says when it is issued: seller, buyer, lines,
charges, tax breakdown, totals and the structured XML. Issued documents are
never changed; a correction is a credit note that references the invoice.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise


def amount_field(verbose_name: StrOrPromise, **options: object) -> models.DecimalField:  # type: ignore[type-arg]
    """An amount in the document's currency (rounded to its minor unit)."""
    return models.DecimalField(verbose_name, max_digits=14, decimal_places=4, **options)  # type: ignore[arg-type]


def rate_field(verbose_name: StrOrPromise) -> models.DecimalField:  # type: ignore[type-arg]
    return models.DecimalField(verbose_name, max_digits=6, decimal_places=3, default=Decimal(0))


class DocumentKind(models.TextChoices):
    INVOICE = "invoice", _("Invoice")
    CREDIT_NOTE = "credit_note", _("Credit note")
    PROFORMA = "proforma", _("Proforma invoice")


class NumberStyle(models.TextChoices):
    STANDARD = "standard", _("PREFIX-YEAR-000123")
    GIB = "gib", _("Türkiye (GİB): ABC + year + 9 digits")


class IssueOn(models.TextChoices):
    PAYMENT = "payment", _("when the order is paid")
    SHIPMENT = "shipment", _("when the order ships")
    MANUAL = "manual", _("only by hand")


class InvoicingSettings(models.Model):
    """How a seller numbers, words and sends its invoices."""

    seller = models.OneToOneField(
        "shop.Seller", on_delete=models.CASCADE, related_name="invoicing", verbose_name=_("seller")
    )
    number_style = models.CharField(
        _("numbering"), max_length=10, choices=NumberStyle.choices, default=NumberStyle.STANDARD
    )
    invoice_prefix = models.CharField(
        _("invoice prefix"),
        max_length=10,
        blank=True,
        help_text=_(
            "Invoices are numbered per destination country: DE-2026-000123, or with this "
            "prefix KRV-DE-2026-000123. Türkiye (GİB): three letters or digits, "
            "e.g. KRV → KRV2026000000001."
        ),
    )
    credit_note_prefix = models.CharField(
        _("credit note prefix"),
        max_length=10,
        blank=True,
        help_text=_("Empty: the invoice series with -CN (DE-CN-2026-000004); GİB: KRI."),
    )
    payment_terms_days = models.PositiveSmallIntegerField(_("payment terms (days)"), default=14)
    e_invoice_provider = models.CharField(
        _("e-invoice provider"),
        max_length=30,
        blank=True,
        help_text=_("Where structured invoices are sent; empty: they are only kept here."),
    )
    electronic_address = models.CharField(
        _("electronic address"),
        max_length=100,
        blank=True,
        help_text=_("Peppol endpoint as scheme:identifier, e.g. 0204:991-12345-67 (optional)."),
    )
    footer = models.TextField(_("footer"), blank=True, help_text=_("Printed under every PDF."))

    class Meta:
        verbose_name = _("invoicing settings")
        verbose_name_plural = _("invoicing settings")

    def __str__(self) -> str:
        return str(self.seller)


class MarketInvoicing(models.Model):
    """When a market's orders are invoiced."""

    market = models.OneToOneField(
        "shop.Market", on_delete=models.CASCADE, related_name="invoicing", verbose_name=_("market")
    )
    issue_on = models.CharField(
        _("issue invoices"), max_length=10, choices=IssueOn.choices, default=IssueOn.PAYMENT
    )

    class Meta:
        verbose_name = _("market invoicing")
        verbose_name_plural = _("market invoicing")

    def __str__(self) -> str:
        return f"{self.market}: {self.get_issue_on_display()}"


class InvoiceSeries(models.Model):
    """A gapless numbering series: one per seller, document kind, country and year
    (the destination country; under GİB numbering the seller's).

    The counter is raised in the transaction that issues the document, under a
    row lock, so a rolled-back issue gives its number back and no two documents
    share one.
    """

    seller = models.ForeignKey(
        "shop.Seller", on_delete=models.PROTECT, related_name="+", verbose_name=_("seller")
    )
    kind = models.CharField(_("kind"), max_length=12, choices=DocumentKind.choices)
    country = models.CharField(_("country"), max_length=2)
    year = models.PositiveSmallIntegerField(_("year"))
    prefix = models.CharField(_("prefix"), max_length=10)
    style = models.CharField(_("numbering"), max_length=10, choices=NumberStyle.choices)
    last_number = models.PositiveIntegerField(_("last number"), default=0)

    class Meta:
        verbose_name = _("numbering series")
        verbose_name_plural = _("numbering series")
        ordering = ["-year", "prefix", "kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["seller", "kind", "country", "year", "prefix"], name="one_series_per_year"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number_for(0)[:-1]}… ({self.get_kind_display()})"

    def number_for(self, sequence: int) -> str:
        if self.style == NumberStyle.GIB:
            return f"{self.prefix}{self.year}{sequence:09d}"
        return f"{self.prefix}-{self.year}-{sequence:06d}"


class EInvoiceStatus(models.TextChoices):
    NONE = "none", _("not sent (no provider)")
    PENDING = "pending", _("waiting to be sent")
    SENT = "sent", _("sent, waiting for the answer")
    ACCEPTED = "accepted", _("accepted")
    REJECTED = "rejected", _("rejected")
    FAILED = "failed", _("sending failed, retrying")
    CANCELLED = "cancelled", _("cancelled")


class Invoice(models.Model):
    """An issued invoice, credit note or proforma, as it was issued."""

    kind = models.CharField(_("kind"), max_length=12, choices=DocumentKind.choices)
    number = models.CharField(_("number"), max_length=30, blank=True)
    series = models.ForeignKey(
        InvoiceSeries,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="documents",
        verbose_name=_("series"),
    )
    key = models.CharField(
        _("source"),
        max_length=100,
        unique=True,
        help_text=_("What the document was issued for; issuing it again returns it."),
    )
    order = models.ForeignKey(
        "orders.Order",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="invoices",
        verbose_name=_("order"),
    )
    credited = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="credit_notes",
        verbose_name=_("credits invoice"),
    )
    seller = models.ForeignKey(
        "shop.Seller", on_delete=models.PROTECT, related_name="+", verbose_name=_("seller")
    )
    market = models.ForeignKey(
        "shop.Market", on_delete=models.PROTECT, related_name="+", verbose_name=_("market")
    )
    uuid = models.UUIDField(_("UUID (ETTN)"), default=uuid.uuid4, unique=True, editable=False)
    language = models.CharField(_("language"), max_length=10)
    currency = models.CharField(_("currency"), max_length=3)
    issue_date = models.DateField(_("issue date"))
    due_date = models.DateField(_("due date"), null=True, blank=True)
    delivery_date = models.DateField(_("delivery date"), null=True, blank=True)
    payment_terms = models.CharField(_("payment terms"), max_length=300, blank=True)
    order_reference = models.CharField(_("order reference"), max_length=40, blank=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    seller_details = models.JSONField(_("seller as issued"), default=dict)
    buyer_details = models.JSONField(_("buyer as issued"), default=dict)
    notes = models.TextField(_("notes"), blank=True, help_text=_("Reverse charge, export…"))
    exchange_rate = models.DecimalField(
        _("exchange rate"),
        max_digits=18,
        decimal_places=6,
        null=True,
        blank=True,
        help_text=_("Units of the tax currency per unit of the document's currency."),
    )
    tax_currency = models.CharField(_("tax currency"), max_length=3, blank=True)
    lines_net = amount_field(_("lines net"))
    allowances = amount_field(_("allowances"), default=Decimal(0))
    charges = amount_field(_("charges"), default=Decimal(0))
    tax_exclusive = amount_field(_("total net"))
    tax_total = amount_field(_("tax"))
    tax_inclusive = amount_field(_("total"))
    prepaid = amount_field(_("paid"), default=Decimal(0))
    payable = amount_field(_("amount due"))
    e_profile = models.CharField(_("e-invoice profile"), max_length=40, blank=True)
    e_type = models.CharField(_("e-invoice type"), max_length=20, blank=True)
    xml = models.TextField(_("structured document"), blank=True)
    e_status = models.CharField(
        _("e-invoice status"),
        max_length=10,
        choices=EInvoiceStatus.choices,
        default=EInvoiceStatus.NONE,
    )
    e_provider = models.CharField(_("e-invoice provider"), max_length=30, blank=True)
    e_reference = models.CharField(_("provider reference"), max_length=100, blank=True)
    e_attempts = models.PositiveSmallIntegerField(_("send attempts"), default=0)
    e_message = models.TextField(_("provider message"), blank=True)
    e_updated_at = models.DateTimeField(_("e-invoice updated"), null=True, blank=True)
    created_by = models.CharField(_("by"), max_length=150, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["e_status", "e_updated_at"], name="invoice_e_status")]
        constraints = [
            models.UniqueConstraint(
                fields=["seller", "number"], condition=~Q(number=""), name="one_number_per_seller"
            ),
            models.CheckConstraint(
                condition=Q(kind="proforma") | (~Q(number="") & Q(series__isnull=False)),
                name="issued_documents_are_numbered",
            ),
            models.CheckConstraint(
                condition=~Q(kind="proforma") | Q(number=""),
                name="proformas_are_not_numbered",
            ),
            models.CheckConstraint(
                condition=~Q(kind="credit_note") | Q(credited__isnull=False),
                name="credit_notes_reference_an_invoice",
            ),
        ]

    def __str__(self) -> str:
        return self.number or f"{self.get_kind_display()} {str(self.uuid)[:8]}"

    @property
    def display_number(self) -> str:
        """The number, or for a proforma its reference (proformas are never numbered)."""
        return self.number or f"PF-{self.order_reference or str(self.uuid)[:8].upper()}"


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(_("position"))
    order_line = models.ForeignKey(
        "orders.OrderLine", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    sku = models.CharField(_("SKU"), max_length=64, blank=True)
    name = models.CharField(_("item"), max_length=250)
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=3)
    unit_code = models.CharField(_("unit"), max_length=3, default="C62")
    unit_price = models.DecimalField(_("unit net price"), max_digits=16, decimal_places=6)
    line_net = amount_field(_("net"))
    tax_category = models.CharField(_("tax category"), max_length=2)
    tax_rate = rate_field(_("tax rate (%)"))
    line_tax = amount_field(_("tax"))
    hs_code = models.CharField(_("HS code"), max_length=13, blank=True)
    origin_country = models.CharField(_("country of origin"), max_length=2, blank=True)

    class Meta:
        verbose_name = _("invoice line")
        verbose_name_plural = _("invoice lines")
        ordering = ["invoice", "position"]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.name}"


class InvoiceCharge(models.Model):
    """A document-level charge (shipping, duty, payment fee) or allowance (discount)."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="extras")
    is_charge = models.BooleanField(_("charge"), default=True)
    reason = models.CharField(_("reason"), max_length=150)
    reason_code = models.CharField(_("reason code"), max_length=5, blank=True)
    amount = amount_field(_("net"))
    tax_category = models.CharField(_("tax category"), max_length=2)
    tax_rate = rate_field(_("tax rate (%)"))
    tax = amount_field(_("tax"))

    class Meta:
        verbose_name = _("charge or allowance")
        verbose_name_plural = _("charges and allowances")
        ordering = ["invoice", "id"]

    def __str__(self) -> str:
        return f"{self.reason} {self.amount}"


class InvoiceTax(models.Model):
    """One row of the tax breakdown: a category and rate with its taxable amount and tax."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="taxes")
    category = models.CharField(_("tax category"), max_length=2)
    rate = rate_field(_("tax rate (%)"))
    taxable = amount_field(_("taxable amount"))
    tax = amount_field(_("tax"))
    exemption_code = models.CharField(_("exemption code"), max_length=30, blank=True)
    exemption_reason = models.CharField(_("exemption reason"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("tax breakdown row")
        verbose_name_plural = _("tax breakdown")
        ordering = ["invoice", "category", "rate"]

    def __str__(self) -> str:
        return f"{self.category} {self.rate}%: {self.tax}"


class EInvoiceEvent(models.Model):
    """One exchange with the e-invoice provider, for support: what was asked and answered."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="e_events")
    action = models.CharField(_("action"), max_length=20)
    outcome = models.CharField(_("outcome"), max_length=20)
    detail = models.TextField(_("detail"), blank=True)
    at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("e-invoice event")
        verbose_name_plural = _("e-invoice events")
        ordering = ["invoice", "at", "id"]

    def __str__(self) -> str:
        return f"{self.action}: {self.outcome}"


class SandboxSubmission(models.Model):
    """A document as the local sandbox provider received it."""

    uuid = models.UUIDField(_("UUID"), unique=True)
    number = models.CharField(_("number"), max_length=30, blank=True)
    xml = models.TextField(_("document"))
    status = models.CharField(_("status"), max_length=10)
    message = models.TextField(_("message"), blank=True)
    received_at = models.DateTimeField(_("received"), auto_now_add=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)

    class Meta:
        verbose_name = _("sandbox submission")
        verbose_name_plural = _("sandbox submissions")

    def __str__(self) -> str:
        return f"{self.number or self.uuid}: {self.status}"
