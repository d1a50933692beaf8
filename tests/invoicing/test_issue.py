"""Issuing invoices for paid orders: the series, what the invoice freezes, and the
EN 16931 arithmetic."""

from __future__ import annotations

from decimal import Decimal

import pytest

from invoicing.models import DocumentKind, Invoice
from invoicing.services import InvoicingError, invoice_issue
from orders.models import Order
from payments.services import checkout_complete
from tests.invoicing.conftest import MUNICH_COMPANY, paid_order
from tests.payments.helpers import cart_of, shipped


def test_a_paid_german_order_gets_an_invoice_in_the_german_series(german_order: Order):
    invoice = invoice_issue(order=german_order, by="test")

    assert invoice.kind == DocumentKind.INVOICE
    assert invoice.number.startswith("DE-") and invoice.number.endswith("-000001")
    assert invoice.tax_inclusive == german_order.total_gross
    assert invoice.payable == 0 and invoice.prepaid == german_order.total_gross
    assert invoice.seller_details["legal_name"] == "Kervan Europe B.V."
    assert invoice.buyer_details["name"] == "Erika Mustermann"
    (line,) = invoice.lines.all()
    assert (line.sku, line.quantity, line.tax_rate) == ("KRV-TEE-M", 2, Decimal("19.000"))
    assert line.line_net + line.line_tax == Decimal("59.80")


def test_issuing_again_returns_the_same_invoice(german_order: Order):
    first = invoice_issue(order=german_order, by="test")
    again = invoice_issue(order=german_order, by="test")

    assert first.pk == again.pk
    assert Invoice.objects.filter(order=german_order).count() == 1


def test_the_next_order_takes_the_next_number(german_order: Order):
    first = invoice_issue(order=german_order, by="test")
    second = invoice_issue(order=paid_order(), by="test")

    assert second.number == first.number[:-6] + "000002"


def test_an_unpaid_order_gets_no_invoice(checkout_shop):
    order = checkout_complete(
        cart=shipped(cart_of({"KRV-TEE-M": 1})), payment_method_code="bank-transfer"
    ).order

    with pytest.raises(InvoicingError, match="not paid yet"):
        invoice_issue(order=order, by="test")
    assert not Invoice.objects.exists()


def test_a_turkish_order_is_numbered_in_the_gib_pattern(turkish_order: Order):
    invoice = invoice_issue(order=turkish_order, by="test")

    assert invoice.number.startswith("KRV2") and len(invoice.number) == 16
    assert invoice.currency == "TRY" and invoice.e_profile == "EARSIVFATURA"


@pytest.mark.parametrize("make", ["german", "company", "turkish"])
def test_the_totals_follow_the_en16931_arithmetic(checkout_shop, make):
    from tests.invoicing.conftest import ISTANBUL

    order = {
        "german": lambda: paid_order({"KRV-TEE-M": 2, "KRV-MUG": 3}),
        "company": lambda: paid_order({"KRV-TEE-M": 2}, MUNICH_COMPANY),
        "turkish": lambda: paid_order({"KRV-TEE-M": 1}, ISTANBUL, market="tr", language="tr"),
    }[make]()
    invoice = invoice_issue(order=order, by="test")
    lines = list(invoice.lines.all())
    extras = list(invoice.extras.all())
    taxes = list(invoice.taxes.all())

    # BR-CO-10: sum of line net amounts
    assert invoice.lines_net == sum(line.line_net for line in lines)
    # BR-CO-11 / BR-CO-12: sums of allowances and charges
    assert invoice.allowances == sum(e.amount for e in extras if not e.is_charge)
    assert invoice.charges == sum(e.amount for e in extras if e.is_charge)
    # BR-CO-13: total without tax
    assert invoice.tax_exclusive == invoice.lines_net - invoice.allowances + invoice.charges
    # BR-CO-14: tax total is the sum of the breakdown
    assert invoice.tax_total == sum(row.tax for row in taxes)
    # BR-CO-15: total with tax
    assert invoice.tax_inclusive == invoice.tax_exclusive + invoice.tax_total
    # BR-CO-16: amount due
    assert invoice.payable == invoice.tax_inclusive - invoice.prepaid
    for row in taxes:
        # BR-S-08 and the like: each row's taxable amount is what its items add up to
        items = [
            line.line_net
            for line in lines
            if (line.tax_category, line.tax_rate) == (row.category, row.rate)
        ]
        items += [
            e.amount if e.is_charge else -e.amount
            for e in extras
            if (e.tax_category, e.tax_rate) == (row.category, row.rate)
        ]
        assert row.taxable == sum(items)
        # BR-CO-17: the row's tax is its taxable amount at its rate, rounded to cents
        assert row.tax == (row.taxable * row.rate / 100).quantize(Decimal("0.01"))
    # and the invoice says what the customer paid
    assert invoice.tax_inclusive == order.total_gross


def test_a_german_company_with_a_valid_vat_number_is_reverse_charged(checkout_shop):
    order = paid_order({"KRV-TEE-M": 2}, MUNICH_COMPANY)

    invoice = invoice_issue(order=order, by="test")

    (row,) = invoice.taxes.all()
    assert (row.category, row.tax, row.exemption_code) == ("AE", 0, "VATEX-EU-AE")
    assert invoice.buyer_details["vat_number"] == "DE136695976"
    assert "Reverse charge" in invoice.notes or "Steuerschuldnerschaft" in invoice.notes
