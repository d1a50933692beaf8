"""Invoices, credit notes and proformas as PDF (WeasyPrint), in the customer's
language with amounts and dates formatted as they read them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from babel.dates import format_date
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation

from invoicing.models import DocumentKind, Invoice, InvoicingSettings
from shop.formatting import format_money, shopper_locale


def document_context(document: Invoice) -> dict[str, Any]:
    """What the PDF template shows, every amount and date already formatted."""
    language = document.language or settings.LANGUAGE_CODE
    country = document.buyer_details.get("country", "")

    def money(amount: Any) -> str:
        return format_money(amount, document.currency, language=language, country=country)

    def date(value: Any) -> str:
        return (
            format_date(value, format="long", locale=shopper_locale(language, country))
            if value
            else ""
        )

    territories = shopper_locale(language, country).territories
    footer = (
        InvoicingSettings.objects.filter(seller_id=document.seller_id)
        .values_list("footer", flat=True)
        .first()
    )
    logo = document.seller_details.get("logo", "")
    logo_path = Path(settings.MEDIA_ROOT) / logo if logo else None
    return {
        "document": document,
        "is_credit_note": document.kind == DocumentKind.CREDIT_NOTE,
        "is_proforma": document.kind == DocumentKind.PROFORMA,
        "seller": document.seller_details,
        "buyer": document.buyer_details,
        "seller_country": territories.get(document.seller_details.get("country", ""), ""),
        "buyer_country": territories.get(country, country),
        "footer": footer or "",
        "logo_url": logo_path.as_uri() if logo_path and logo_path.is_file() else "",
        "issue_date": date(document.issue_date),
        "due_date": date(document.due_date),
        "delivery_date": date(document.delivery_date),
        "credited_date": date(document.credited.issue_date) if document.credited else "",
        "lines": [
            {
                "line": line,
                "quantity": format(line.quantity.normalize(), "f"),
                "unit_price": money(line.unit_price),
                "net": money(line.line_net),
                "rate": format(line.tax_rate.normalize(), "f"),
            }
            for line in document.lines.all()
        ],
        "extras": [
            {
                "extra": extra,
                "net": money(extra.amount if extra.is_charge else -extra.amount),
                "rate": format(extra.tax_rate.normalize(), "f"),
            }
            for extra in document.extras.all()
        ],
        "taxes": [
            {
                "row": row,
                "taxable": money(row.taxable),
                "tax": money(row.tax),
                "rate": format(row.rate.normalize(), "f"),
            }
            for row in document.taxes.all()
        ],
        "totals": {
            "net": money(document.tax_exclusive),
            "tax": money(document.tax_total),
            "gross": money(document.tax_inclusive),
            "paid": money(document.prepaid) if document.prepaid else "",
            "due": money(document.payable),
        },
        "exchange_rate": document.exchange_rate,
    }


def invoice_html(document: Invoice) -> str:
    with translation.override(document.language or settings.LANGUAGE_CODE):
        return render_to_string("invoicing/document.html", document_context(document))


def invoice_pdf(document: Invoice) -> bytes:
    """The document as a PDF (A4, page numbers in the footer)."""
    from weasyprint import HTML

    pdf = HTML(string=invoice_html(document), base_url=str(settings.BASE_DIR)).write_pdf()
    assert pdf is not None
    return pdf


def document_filename(document: Invoice, extension: str) -> str:
    return f"{document.display_number}.{extension}"
