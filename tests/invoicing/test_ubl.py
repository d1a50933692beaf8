"""Structured invoices: EN 16931 UBL that the official validation accepts, and
Turkish UBL-TR in GİB's shape."""

from __future__ import annotations

import re
from decimal import Decimal

from lxml import etree

from invoicing.models import Invoice
from invoicing.services import credit_note_for_refund, invoice_issue
from invoicing.ubl import NS
from orders.models import Order
from tests.invoicing.conftest import ISTANBUL, MUNICH_COMPANY, paid_order

CBC = f"{{{NS['cbc']}}}"
CAC = f"{{{NS['cac']}}}"


def text(xml: str, path: str) -> list[str]:
    root = etree.fromstring(xml.encode())
    return [
        node if isinstance(node, str) else node.text or ""
        for node in root.xpath(path, namespaces=NS)
    ]


def test_the_german_invoice_passes_the_official_en16931_rules(german_order: Order, en16931):
    invoice = invoice_issue(order=german_order, by="test")

    assert text(invoice.xml, "/inv:Invoice/cbc:ID") == [invoice.number]
    assert text(invoice.xml, "//cac:LegalMonetaryTotal/cbc:PayableAmount") == ["0.00"]
    assert en16931(invoice.xml) == []


def test_a_reverse_charged_invoice_passes_and_names_the_exemption(checkout_shop, en16931):
    invoice = invoice_issue(order=paid_order({"KRV-TEE-M": 2}, MUNICH_COMPANY), by="test")

    assert text(invoice.xml, "//cac:TaxSubtotal/cac:TaxCategory/cbc:ID") == ["AE"]
    assert text(invoice.xml, "//cac:TaxSubtotal//cbc:TaxExemptionReasonCode") == ["VATEX-EU-AE"]
    assert text(invoice.xml, "//cac:AccountingCustomerParty//cac:PartyTaxScheme/cbc:CompanyID") == [
        "DE136695976"
    ]
    assert en16931(invoice.xml) == []


def test_a_credit_note_references_its_invoice_and_passes(german_order: Order, en16931):
    invoice = invoice_issue(order=german_order, by="test")
    line = german_order.lines.get()

    note = credit_note_for_refund(
        order=german_order,
        refund_id=1,
        lines={line.pk: (1, Decimal("29.90"))},
        shipping=Decimal(0),
        other=Decimal(0),
        by="test",
    )

    assert etree.fromstring(note.xml.encode()).tag == f"{{{NS['cn']}}}CreditNote"
    assert text(note.xml, "//cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID") == [
        invoice.number
    ]
    assert note.number.startswith("DE-CN-")
    assert note.tax_inclusive == Decimal("29.90")
    assert en16931(note.xml) == []


def test_an_invoice_with_a_fee_and_several_rates_passes(checkout_shop, en16931):
    order = paid_order({"KRV-TEE-M": 1, "KRV-MUG": 2, "KRV-TEE-L": 3})

    invoice = invoice_issue(order=order, by="test")

    assert en16931(invoice.xml) == []


def test_the_turkish_invoice_follows_ubl_tr(turkish_order: Order):
    invoice = invoice_issue(order=turkish_order, by="test")
    xml = invoice.xml
    root = etree.fromstring(xml.encode())

    # GİB's header, in its order
    header = [etree.QName(child).localname for child in root][:12]
    assert header == [
        "UBLExtensions",
        "UBLVersionID",
        "CustomizationID",
        "ProfileID",
        "ID",
        "CopyIndicator",
        "UUID",
        "IssueDate",
        "IssueTime",
        "InvoiceTypeCode",
        "Note",
        "DocumentCurrencyCode",
    ]
    assert text(xml, "/inv:Invoice/cbc:ProfileID") == ["EARSIVFATURA"]
    assert text(xml, "/inv:Invoice/cbc:InvoiceTypeCode") == ["SATIS"]
    assert re.fullmatch(r"[A-Z0-9]{3}20[0-9]{2}[0-9]{9}", text(xml, "/inv:Invoice/cbc:ID")[0])
    assert text(xml, "/inv:Invoice/cbc:UUID") == [str(invoice.uuid).upper()]
    # the consumer: TCKN with a person's name; the seller: VKN and tax office
    assert text(xml, "//cac:AccountingCustomerParty//cac:PartyIdentification/cbc:ID") == [
        "11111111111"
    ]
    assert text(xml, "//cac:AccountingCustomerParty//cac:Person/cbc:FirstName") == ["Ayşe"]
    assert text(xml, "//cac:AccountingSupplierParty//cac:PartyIdentification/cbc:ID") == [
        "1234567890"
    ]
    assert text(xml, "//cac:Signature/cbc:ID") == ["1234567890"]
    assert text(xml, "/inv:Invoice/cac:TaxTotal//cbc:TaxTypeCode") == ["0015"]
    assert text(xml, "/inv:Invoice/cac:TaxTotal//cbc:Percent") == ["20.00"]
    assert text(xml, "/inv:Invoice/cbc:LineCountNumeric") == [
        str(len(root.findall(f"{CAC}InvoiceLine")))
    ]
    total = text(xml, "//cac:LegalMonetaryTotal/cbc:PayableAmount")[0]
    assert Decimal(total) == turkish_order.total_gross
    assert not root.findall(f"{CBC}DueDate") and not root.findall(f"{CBC}BuyerReference")


def test_a_registered_turkish_business_gets_an_e_fatura(checkout_shop):
    company = ISTANBUL.__class__(
        **{**vars(ISTANBUL), "company": "Anadolu Ltd.", "vat_number": "1234567890"}
    )
    order = paid_order({"KRV-TEE-M": 1}, company, market="tr", language="tr")

    invoice: Invoice = invoice_issue(order=order, by="test")

    assert invoice.e_profile == "TEMELFATURA"
    assert text(invoice.xml, "//cac:AccountingCustomerParty//cac:PartyIdentification/cbc:ID") == [
        "1234567890"
    ]


def test_a_turkish_export_in_euros_is_an_ihracat_invoice_with_the_lira_rate(turkish_order: Order):
    # An export sale (as when the Turkish seller ships abroad): zero KDV, priced in euros
    Order.objects.filter(pk=turkish_order.pk).update(export=True, currency="EUR")
    turkish_order.lines.update(tax_rate=0, line_tax=0, tax_category="G", hs_code="610910")
    Order.objects.filter(pk=turkish_order.pk).update(
        shipping_tax_rate=0, shipping_tax=0, shipping_tax_category="G"
    )
    turkish_order.refresh_from_db()

    invoice = invoice_issue(order=turkish_order, by="test")
    xml = invoice.xml

    assert (invoice.e_profile, invoice.e_type) == ("IHRACAT", "ISTISNA")
    assert text(xml, "//cac:AccountingCustomerParty//cac:PartyIdentification/cbc:ID") == [
        "1460415308"  # the customs administration
    ]
    assert text(xml, "//cac:BuyerCustomerParty//cac:PartyIdentification/cbc:ID") == ["EXPORT"]
    assert text(xml, "//cac:BuyerCustomerParty//cbc:RegistrationName") == ["Ayşe Yılmaz"]
    assert set(text(xml, "/inv:Invoice/cac:TaxTotal//cbc:TaxExemptionReasonCode")) == {"301"}
    assert set(text(xml, "//cac:InvoiceLine//cbc:RequiredCustomsID")) == {"610910000000"}
    assert set(text(xml, "//cac:InvoiceLine//cac:DeliveryTerms/cbc:ID")) == {"DAP"}
    assert text(xml, "//cac:PricingExchangeRate/cbc:SourceCurrencyCode") == ["EUR"]
    assert text(xml, "//cac:PricingExchangeRate/cbc:CalculationRate") == ["37.500000"]
    assert invoice.exchange_rate == Decimal("37.5") and invoice.tax_currency == "TRY"
    assert set(text(xml, "//@currencyID")) == {"EUR"}  # amounts stay in the document currency


def test_a_turkish_credit_note_is_a_return_invoice_referencing_the_invoice(turkish_order: Order):
    invoice = invoice_issue(order=turkish_order, by="test")
    line = turkish_order.lines.get()

    note = credit_note_for_refund(
        order=turkish_order,
        refund_id=3,
        lines={line.pk: (1, line.line_net + line.line_tax)},
        shipping=Decimal(0),
        other=Decimal(0),
        by="test",
    )

    assert (note.e_profile, note.e_type) == ("EARSIVFATURA", "IADE")
    assert (
        re.fullmatch(r"[A-Z0-9]{3}20[0-9]{2}[0-9]{9}", note.number)
        and note.number[:3] != invoice.number[:3]
    )
    reference = "//cac:BillingReference/cac:InvoiceDocumentReference/"
    assert text(note.xml, reference + "cbc:ID") == [invoice.number]
    assert text(note.xml, reference + "cbc:DocumentTypeCode") == ["IADE"]
