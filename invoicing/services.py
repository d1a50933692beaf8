"""Issuing invoices, credit notes and proformas.

Every issue is idempotent: a document is issued for a *key* (the order's
invoice, a refund's credit note…) and issuing the same key again returns the
document already issued. Numbers come from gapless series, raised in the
issuing transaction. The structured e-invoice is built and stored with the
document; sending it to the provider happens after the commit, in Celery.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop, override

from invoicing.documents import (
    Content,
    Line,
    content_of,
    order_content,
    quote_extras,
    quote_lines,
    refund_content,
)
from invoicing.models import (
    DocumentKind,
    EInvoiceStatus,
    Invoice,
    InvoiceCharge,
    InvoiceLine,
    InvoiceSeries,
    InvoiceTax,
    InvoicingSettings,
    IssueOn,
    MarketInvoicing,
    NumberStyle,
)
from orders.models import Cart, Order, OrderStatus, seller_details_of
from orders.quote import cart_quote
from orders.services import outbox_write
from pricing.money import quantize
from shop.models import Seller

logger = logging.getLogger(__name__)


class InvoicingError(Exception):
    """A document that cannot be issued; the message says why, for the merchant."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def invoicing_settings(seller: Seller) -> InvoicingSettings:
    """The seller's invoicing settings (defaults made on first use: GİB numbering in
    Türkiye, the standard style elsewhere)."""
    settings, _created = InvoicingSettings.objects.get_or_create(
        seller=seller,
        defaults={
            "number_style": NumberStyle.GIB if seller.country_id == "TR" else NumberStyle.STANDARD
        },
    )
    return settings


def issue_policy(market_id: int) -> str:
    """When the market's orders are invoiced (on payment unless set otherwise)."""
    policy = MarketInvoicing.objects.filter(market_id=market_id).values_list("issue_on", flat=True)
    return next(iter(policy), IssueOn.PAYMENT)


def _gib_prefix(code: str) -> str:
    letters = re.sub(r"[^A-Z0-9]", "", code.upper())
    return (letters + "XXX")[:3]


def series_prefix(settings: InvoicingSettings, kind: str, country: str) -> str:
    """The prefix of a series: for GİB three characters (credit notes their own three),
    else the country (after the seller's own prefix, if any), -CN for credit notes."""
    if settings.number_style == NumberStyle.GIB:
        invoice = _gib_prefix(settings.invoice_prefix or settings.seller.code)
        if kind != DocumentKind.CREDIT_NOTE:
            return invoice
        if settings.credit_note_prefix:
            return _gib_prefix(settings.credit_note_prefix)
        return invoice[:2] + ("I" if invoice[2] != "I" else "R")
    base = f"{settings.invoice_prefix}-{country}" if settings.invoice_prefix else country
    if kind == DocumentKind.CREDIT_NOTE:
        return settings.credit_note_prefix or f"{base}-CN"
    return base


def series_country(seller: Seller, destination: str) -> str:
    """The country a document is numbered in: the seller's under GİB numbering, else
    the country the goods go to (where the sale is taxed, with OSS)."""
    if invoicing_settings(seller).number_style == NumberStyle.GIB:
        return seller.country_id
    return destination or seller.country_id


def number_next(
    *, seller: Seller, kind: str, country: str, issue_date: datetime.date
) -> tuple[InvoiceSeries, str]:
    """The next number of the seller's series for ``kind``, ``country`` and the year
    of ``issue_date``.

    Call inside the transaction that saves the document: the series row stays
    locked until it commits, and a rollback returns the number.
    """
    settings = invoicing_settings(seller)
    prefix = series_prefix(settings, kind, country)
    lookup = {
        "seller": seller,
        "kind": kind,
        "country": country,
        "year": issue_date.year,
        "prefix": prefix,
    }
    try:
        with transaction.atomic():
            series, _created = InvoiceSeries.objects.get_or_create(
                **lookup, defaults={"style": settings.number_style}
            )
    except IntegrityError:  # another issuer made it at the same moment
        series = InvoiceSeries.objects.get(**lookup)
    series = InvoiceSeries.objects.select_for_update().get(pk=series.pk)
    series.last_number += 1
    series.save(update_fields=["last_number"])
    return series, series.number_for(series.last_number)


@dataclass(frozen=True)
class Source:
    """What a document is issued for: an order, or a cart (proformas only)."""

    seller: Seller
    market_id: int
    language: str
    currency: str
    seller_details: dict[str, str]
    buyer_details: dict[str, str]
    notes: str
    series_country: str
    order: Order | None = None
    reference: str = ""
    delivery_date: datetime.date | None = None


def _buyer(target: Order | Cart, prefix: str = "billing_") -> dict[str, str]:
    def field(name: str) -> str:
        return str(getattr(target, f"{prefix}{name}", "") or "")

    return {
        "name": f"{field('first_name')} {field('last_name')}".strip(),
        "company": field("company"),
        "line1": field("line1"),
        "line2": field("line2"),
        "postal_code": field("postal_code"),
        "city": field("city"),
        "district": field("district"),
        "region": field("region_code"),
        "country": field("country_id") or field("country"),
        "vat_number": target.vat_number,
        "email": target.email,
        "phone": target.phone,
        "delivery_country": (
            target.shipping_country if isinstance(target, Order) else target.country_id or ""
        ),
    }


def _seller(seller: Seller, frozen: dict[str, str] | None = None) -> dict[str, str]:
    details = dict(frozen or seller_details_of(seller))
    details["logo"] = seller.logo.name if seller.logo else ""
    return details


def order_source(order: Order) -> Source:
    shipped = order.shipments.order_by("shipped_at").values_list("shipped_at", flat=True).first()
    return Source(
        seller=order.seller,
        market_id=order.market_id,
        language=order.language,
        currency=order.currency,
        seller_details=_seller(order.seller, order.seller_as_sold),
        buyer_details=_buyer(order),
        notes=order.tax_notes,
        series_country=series_country(order.seller, order.shipping_country),
        order=order,
        reference=order.number,
        delivery_date=timezone.localdate(shipped) if shipped else None,
    )


def _save(
    *,
    kind: str,
    key: str,
    source: Source,
    content: Content,
    by: str,
    credited: Invoice | None = None,
    reason: str = "",
) -> Invoice:
    """Number (unless a proforma) and save a document with its rows and its XML."""
    from invoicing.structured import structured_document  # builds on the saved rows

    totals = content.totals
    assert totals is not None
    today = timezone.localdate()
    settings = invoicing_settings(source.seller)
    series, number = (
        (None, "")
        if kind == DocumentKind.PROFORMA
        else number_next(
            seller=source.seller, kind=kind, country=source.series_country, issue_date=today
        )
    )
    paid = totals.payable == 0
    with override(source.language):
        terms = (
            gettext("Paid with thanks.")
            if paid
            else gettext("Payable within %(days)s days.") % {"days": settings.payment_terms_days}
        )
    provider = settings.e_invoice_provider if kind != DocumentKind.PROFORMA else ""
    document = Invoice.objects.create(
        kind=kind,
        number=number,
        series=series,
        key=key,
        order=source.order,
        credited=credited,
        seller=source.seller,
        market_id=source.market_id,
        language=source.language,
        currency=source.currency,
        issue_date=today,
        due_date=today if paid else today + datetime.timedelta(days=settings.payment_terms_days),
        delivery_date=source.delivery_date,
        payment_terms=terms,
        order_reference=source.reference,
        reason=reason[:300],
        seller_details=source.seller_details,
        buyer_details=source.buyer_details,
        notes=source.notes,
        lines_net=totals.lines_net,
        allowances=totals.allowances,
        charges=totals.charges,
        tax_exclusive=totals.tax_exclusive,
        tax_total=totals.tax_total,
        tax_inclusive=totals.tax_inclusive,
        prepaid=totals.prepaid,
        payable=totals.payable,
        e_provider=provider,
        e_status=EInvoiceStatus.PENDING if provider else EInvoiceStatus.NONE,
        created_by=by[:150],
    )
    InvoiceLine.objects.bulk_create(
        InvoiceLine(
            invoice=document,
            position=position,
            order_line_id=line.order_line_id,
            sku=line.sku,
            name=line.name[:250],
            quantity=line.quantity,
            unit_code=line.unit_code,
            unit_price=line.unit_price,
            line_net=line.line_net,
            tax_category=line.tax_category,
            tax_rate=line.tax_rate,
            line_tax=line.line_tax,
            hs_code=line.hs_code,
            origin_country=line.origin_country,
        )
        for position, line in enumerate(content.lines, start=1)
    )
    InvoiceCharge.objects.bulk_create(
        InvoiceCharge(
            invoice=document,
            is_charge=extra.is_charge,
            reason=extra.reason,
            reason_code=extra.reason_code,
            amount=extra.amount,
            tax_category=extra.tax_category,
            tax_rate=extra.tax_rate,
            tax=extra.tax,
        )
        for extra in content.extras
    )
    InvoiceTax.objects.bulk_create(
        InvoiceTax(
            invoice=document,
            category=row.category,
            rate=row.rate,
            taxable=row.taxable,
            tax=row.tax,
            exemption_code=row.exemption_code,
            exemption_reason=row.exemption_reason,
        )
        for row in content.taxes
    )
    structured = structured_document(document)
    document.xml, document.e_profile, document.e_type = (
        structured.xml,
        structured.profile,
        structured.type_code,
    )
    document.exchange_rate, document.tax_currency = (
        structured.exchange_rate,
        structured.tax_currency,
    )
    document.save(update_fields=["xml", "e_profile", "e_type", "exchange_rate", "tax_currency"])
    if provider:
        transaction.on_commit(lambda: _send_later(document.pk))
    logger.info("%s %s issued for %s", kind, document, source.reference or "a cart")
    return document


def _send_later(invoice_id: int) -> None:
    from invoicing.tasks import e_invoice_send

    try:
        e_invoice_send.apply_async(args=(invoice_id,))
    except Exception as error:  # broker down: the periodic resend picks it up
        logger.warning("E-invoice %s not queued: %s", invoice_id, error)


def _locked_order(order: Order) -> Order:
    return Order.objects.select_for_update().select_related("seller").get(pk=order.pk)


def invoice_for_order(order: Order) -> Invoice | None:
    return Invoice.objects.filter(key=f"order:{order.pk}:invoice").first()


def invoice_issue(*, order: Order, by: str) -> Invoice:
    """The order's invoice, issued now unless it was issued before.

    A cancelled order, or one not paid yet that is not paid on delivery, gets
    no invoice (a proforma can be made for it).
    """
    key = f"order:{order.pk}:invoice"
    existing = Invoice.objects.filter(key=key).first()
    if existing is not None:
        return existing
    with transaction.atomic():
        order = _locked_order(order)  # one issuer per order at a time
        existing = Invoice.objects.filter(key=key).first()
        if existing is not None:
            return existing
        if order.status == OrderStatus.CANCELLED:
            raise InvoicingError(
                gettext("Order %(number)s is cancelled: it gets no invoice.")
                % {"number": order.number}
            )
        if order.paid_at is None and not order.pays_on_delivery:
            raise InvoicingError(
                gettext("Order %(number)s is not paid yet: make a proforma invoice instead.")
                % {"number": order.number}
            )
        invoice = _save(
            kind=DocumentKind.INVOICE,
            key=key,
            source=order_source(order),
            content=order_content(order),
            by=by,
        )
        outbox_write(
            kind="invoice.issued",
            order=order,
            payload={
                "number": order.number,
                "invoice": invoice.pk,
                "invoice_number": invoice.number,
            },
        )
        return invoice


def credit_note_for_refund(
    *,
    order: Order,
    refund_id: int,
    lines: Mapping[int, tuple[int, Decimal]],
    shipping: Decimal,
    other: Decimal,
    by: str,
) -> Invoice:
    """The credit note of a refund (issued once per refund), referencing the order's
    invoice; an order refunded before it was invoiced is invoiced first."""
    invoice = invoice_issue(order=order, by=by)
    key = f"refund:{refund_id}:credit"
    existing = Invoice.objects.filter(key=key).first()
    if existing is not None:
        return existing
    content = refund_content(order, lines=lines, shipping=shipping, other=other)
    if not content.lines and not content.extras:
        raise InvoicingError(gettext("The refund credits nothing."))
    note = _credit_once(
        order=order, key=key, invoice=invoice, by=by, reason=REFUND, content=lambda: content
    )
    assert note is not None
    return note


def credited_so_far(invoice: Invoice) -> Decimal:
    return sum((note.tax_inclusive for note in invoice.credit_notes.all()), Decimal(0))


def credit_note_for_cancellation(*, order: Order, by: str) -> Invoice | None:
    """A cancelled order's invoice credited in full (what no credit note covers yet);
    None when the order was never invoiced or is credited already."""
    invoice = invoice_for_order(order)
    if invoice is None:
        return None

    def rest() -> Content | None:
        left = invoice.tax_inclusive - credited_so_far(invoice)
        if left <= 0:
            return None
        if left == invoice.tax_inclusive:
            return _copy_content(invoice)
        return refund_content(order, lines={}, shipping=Decimal(0), other=left)

    return _credit_once(
        order=order,
        key=f"order:{order.pk}:cancellation",
        invoice=invoice,
        by=by,
        reason=CANCELLATION,
        content=rest,
    )


REFUND = gettext_noop("Refund")
CANCELLATION = gettext_noop("Order cancelled")


def _credit_once(
    *,
    order: Order,
    key: str,
    invoice: Invoice,
    by: str,
    reason: str,
    content: Callable[[], Content | None],
) -> Invoice | None:
    """The credit note issued for ``key``, issued now (under the order's lock) unless it
    was before; None when ``content`` finds nothing to credit."""
    with transaction.atomic():
        order = _locked_order(order)
        existing = Invoice.objects.filter(key=key).first()
        if existing is not None:
            return existing
        credited = content()
        if credited is None:
            return None
        with override(order.language):
            text = gettext(reason)
        return _save(
            kind=DocumentKind.CREDIT_NOTE,
            key=key,
            source=order_source(order),
            content=credited,
            by=by,
            credited=invoice,
            reason=text,
        )


def _copy_content(invoice: Invoice) -> Content:
    from invoicing.documents import Extra

    lines = [
        Line(
            name=line.name,
            sku=line.sku,
            quantity=line.quantity,
            line_net=line.line_net,
            tax_category=line.tax_category,
            tax_rate=line.tax_rate,
            line_tax=line.line_tax,
            order_line_id=line.order_line_id,
            hs_code=line.hs_code,
            origin_country=line.origin_country,
            unit_code=line.unit_code,
        )
        for line in invoice.lines.all()
    ]
    extras = [
        Extra(
            reason=extra.reason,
            reason_code=extra.reason_code,
            amount=extra.amount,
            tax_category=extra.tax_category,
            tax_rate=extra.tax_rate,
            tax=extra.tax,
            is_charge=extra.is_charge,
        )
        for extra in invoice.extras.all()
    ]
    return content_of(lines, extras, invoice.currency, paid=True)


def proforma_for_order(*, order: Order, by: str) -> Invoice:
    """A proforma invoice of the order as it stands (never numbered; each is new)."""
    content = order_content(order)
    content = content_of(content.lines, content.extras, order.currency, paid=False)
    with transaction.atomic():
        return _save(
            kind=DocumentKind.PROFORMA,
            key=f"proforma:{uuid.uuid4()}",
            source=order_source(order),
            content=content,
            by=by,
        )


def proforma_for_cart(*, cart: Cart, by: str) -> Invoice:
    """A proforma invoice of the cart as it would be ordered now (for an export quote
    or a buyer's import papers): its address, shipping and prices must be complete."""
    quote = cart_quote(cart=cart)
    if not cart.has_address or quote.shipping is None or not quote.lines or quote.seller is None:
        raise InvoicingError(
            gettext("Choose the address and the shipping method first: they set the prices.")
        )
    seller = Seller.objects.get(pk=quote.seller.id)
    with override(quote.language):
        content = content_of(quote_lines(quote), quote_extras(quote), quote.currency, paid=False)
    buyer = _buyer(cart, prefix="")
    source = Source(
        seller=seller,
        market_id=quote.market_id,
        language=quote.language,
        currency=quote.currency,
        seller_details=_seller(seller),
        buyer_details=buyer,
        notes="\n".join(quote.tax_notes),
        series_country=buyer["delivery_country"],
    )
    # The same cart, address and prices give the same proforma back.
    state = repr((sorted(buyer.items()), content.lines, content.extras, quote.currency))
    key = f"proforma:cart:{cart.pk}:{hashlib.sha256(state.encode()).hexdigest()[:32]}"
    existing = Invoice.objects.filter(key=key).first()
    if existing is not None:
        return existing
    with transaction.atomic():
        return _save(kind=DocumentKind.PROFORMA, key=key, source=source, content=content, by=by)


def refund_amounts(
    payload: Mapping[str, object], currency: str
) -> tuple[dict[int, tuple[int, Decimal]], Decimal, Decimal]:
    """The lines, shipping and free amount of an ``order.refunded`` outbox payload."""
    raw_lines = payload.get("lines") or []
    lines: dict[int, tuple[int, Decimal]] = {}
    for item in raw_lines if isinstance(raw_lines, list) else []:
        line_id, units, amount = item
        lines[int(line_id)] = (int(units), quantize(Decimal(str(amount)), currency))
    shipping = quantize(Decimal(str(payload.get("shipping") or 0)), currency)
    other = quantize(Decimal(str(payload.get("other") or 0)), currency)
    return lines, shipping, other
