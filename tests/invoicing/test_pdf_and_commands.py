"""Invoices as PDF in the customer's language, and the support commands."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from pypdf import PdfReader

from invoicing.models import Invoice
from invoicing.pdf import invoice_pdf
from invoicing.services import credit_note_for_refund, invoice_issue
from orders.models import Order
from tests.invoicing.conftest import MUNICH_COMPANY, paid_order


def pdf_text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_the_german_invoice_reads_in_german_with_its_totals(german_order: Order):
    invoice = invoice_issue(order=german_order, by="test")

    text = pdf_text(invoice_pdf(invoice))

    assert "Rechnung" in text and invoice.number in text
    assert "Kervan Europe B.V." in text and "Erika Mustermann" in text
    assert "Deutschland" in text
    total = f"{invoice.tax_inclusive:.2f}".replace(".", ",")
    assert f"{total}\xa0€" in text or f"{total} €" in text
    assert "Seite 1 / 1" in text


def test_the_turkish_invoice_reads_in_turkish(turkish_order: Order):
    invoice = invoice_issue(order=turkish_order, by="test")

    text = pdf_text(invoice_pdf(invoice))

    assert "Fatura" in text and invoice.number in text and "Kervan Ticaret A.Ş." in text
    assert "₺" in text and "Sayfa 1 / 1" in text


def test_a_reverse_charged_invoice_says_so(checkout_shop):
    invoice = invoice_issue(order=paid_order({"KRV-TEE-M": 2}, MUNICH_COMPANY), by="test")

    text = pdf_text(invoice_pdf(invoice))

    assert "DE136695976" in text
    assert "Reverse" in text or "Steuerschuldnerschaft" in text


def test_a_credit_note_pdf_names_the_invoice_it_credits(german_order: Order):
    invoice = invoice_issue(order=german_order, by="test")
    line = german_order.lines.get()
    note = credit_note_for_refund(
        order=german_order,
        refund_id=7,
        lines={line.pk: (1, Decimal("29.90"))},
        shipping=Decimal(0),
        other=Decimal(0),
        by="test",
    )

    text = pdf_text(invoice_pdf(note))

    assert "Gutschrift" in text and invoice.number in text


def test_invoice_issue_issues_once_and_reports_the_invoice(german_order: Order):
    out = io.StringIO()
    call_command("invoice_issue", "--order", german_order.number, stdout=out)
    call_command("invoice_issue", "--order", german_order.number.lower(), stdout=out)

    invoice = Invoice.objects.get(order=german_order)
    first, second = out.getvalue().splitlines()
    assert f"is invoiced: {invoice.number}" in first
    assert f"was already invoiced: {invoice.number}" in second


def test_invoice_issue_refuses_a_missing_or_unpaid_order_clearly(checkout_shop):
    with pytest.raises(CommandError, match="No order 'KRV-1999-000001'"):
        call_command("invoice_issue", "--order", "KRV-1999-000001")
    assert not Invoice.objects.exists()


def test_invoice_export_writes_ubl_and_pdf(german_order: Order, tmp_path: Path, en16931):
    invoice = invoice_issue(order=german_order, by="test")
    xml, pdf = tmp_path / "invoice.xml", tmp_path / "invoice.pdf"

    call_command(
        "invoice_export",
        invoice.number,
        "--format",
        "ubl",
        "--output",
        str(xml),
        stdout=io.StringIO(),
    )
    call_command(
        "invoice_export",
        "--order",
        german_order.number,
        "--format",
        "pdf",
        "--output",
        str(pdf),
        stdout=io.StringIO(),
    )

    assert pdf.read_bytes().startswith(b"%PDF")
    assert en16931(xml.read_text()) == []


def test_invoice_export_explains_bad_arguments(german_order: Order, tmp_path: Path):
    with pytest.raises(CommandError, match="has no invoice yet"):
        call_command(
            "invoice_export",
            "--order",
            german_order.number,
            "--format",
            "pdf",
            "--output",
            str(tmp_path / "x.pdf"),
        )
    with pytest.raises(CommandError, match="one of them"):
        call_command("invoice_export", "--format", "ubl", "--output", str(tmp_path / "x.xml"))
    with pytest.raises(CommandError, match="No invoice or credit note"):
        call_command(
            "invoice_export",
            "DE-2026-999999",
            "--format",
            "ubl",
            "--output",
            str(tmp_path / "x.xml"),
        )
    with pytest.raises(CommandError, match="does not exist"):
        invoice_issue(order=german_order, by="test")
        call_command(
            "invoice_export",
            "--order",
            german_order.number,
            "--format",
            "ubl",
            "--output",
            "/no/such/dir/x.xml",
        )
    assert not list(tmp_path.iterdir())
