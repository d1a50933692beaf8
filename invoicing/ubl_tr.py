"""Turkish e-invoices: UBL-TR 1.2.1 as GİB defines it (e-Fatura and e-Arşiv Fatura).

The profile follows the buyer: a business registered for e-Fatura gets
TEMELFATURA; a consumer, or a business that is not registered, EARSIVFATURA;
an export IHRACAT (invoice type ISTISNA, exemption 301, the customs
administration as customer and the foreign buyer as ``BuyerCustomerParty``).
Credit notes are return invoices (IADE) that reference the invoice.

The document is written unsigned: the e-invoice provider (özel entegratör)
puts the financial seal into ``UBLExtensions`` and sends it to GİB. Elements
follow GİB's schema order. Amounts stay in the document currency; a document
in another currency than TRY carries the lira rate (``PricingExchangeRate``).
Shipping and fees are lines, as Turkish invoices show them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.utils import timezone
from lxml import etree

from invoicing.models import DocumentKind, Invoice
from invoicing.ubl import NS, amount_text, cac, cbc, price_text, quantity_text

EXT = "urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2"
UNSIGNED = "urn:kervan:ubl-tr:unsigned"  # placeholder the provider replaces with the seal
ISTANBUL = ZoneInfo("Europe/Istanbul")
CUSTOMIZATION = "TR1.2"
KDV = "0015"
# Zero KDV: export of goods (KDV Kanunu 11/1-a), or another zero-rated sale.
EXPORT_EXEMPTION = ("301", "11/1-a Mal ihracatı")
OTHER_ZERO = ("351", "351-Diğer")
UNKNOWN_CONSUMER = "11111111111"  # the TCKN Turkish practice uses for an unidentified buyer
CUSTOMS = {
    "vkn": "1460415308",
    "name": "Ticaret Bakanlığı Gümrükler Genel Müdürlüğü- Bilgi İşlem Dairesi Başkanlığı",
    "tax_office": "Ulus",
    "city": "Ankara",
}
TRANSPORT_MODE_ROAD = "3"  # UN/ECE Recommendation 19


@dataclass(frozen=True)
class Buyer:
    scheme: str  # VKN (company) or TCKN (person)
    identifier: str
    name: str
    first_name: str = ""
    family_name: str = ""


def buyer_of(details: dict[str, str]) -> Buyer:
    """The buyer's Turkish identity: the VKN (10 digits) or TCKN (11) given as VAT
    number, else a consumer without a known TCKN."""
    digits = re.sub(r"\D", "", details.get("vat_number", ""))
    first, _space, family = details.get("name", "").strip().rpartition(" ")
    first, family = (first, family) if first else (family, ".")
    name = details.get("company") or details.get("name", "")
    if len(digits) == 10:
        return Buyer("VKN", digits, name)
    return Buyer(
        "TCKN", digits if len(digits) == 11 else UNKNOWN_CONSUMER, name, first or ".", family
    )


def profile_for(document: Invoice, buyer: Buyer, *, registered: bool) -> tuple[str, str]:
    """(ProfileID, InvoiceTypeCode) for the document."""
    export = bool(document.order and document.order.export)
    if document.kind == DocumentKind.CREDIT_NOTE:
        return ("TEMELFATURA" if registered else "EARSIVFATURA"), "IADE"
    if export:
        return "IHRACAT", "ISTISNA"
    if buyer.scheme == "VKN" and registered:
        return "TEMELFATURA", "SATIS"
    return "EARSIVFATURA", "SATIS"


class _TrWriter:
    def __init__(self, document: Invoice) -> None:
        self.document = document
        self.currency = document.currency

    def money(self, parent: etree._Element, name: str, amount: Decimal) -> None:
        cbc(parent, name, amount_text(abs(amount)), currencyID=self.currency)

    def address(
        self, parent: etree._Element, details: dict[str, str], name: str = "PostalAddress"
    ) -> None:
        address = cac(parent, name)
        street = ", ".join(filter(None, [details.get("line1", ""), details.get("line2", "")]))
        if street:
            cbc(address, "StreetName", street)
        cbc(address, "CitySubdivisionName", details.get("district", ""))
        cbc(address, "CityName", details.get("city", ""))
        if details.get("postal_code"):
            cbc(address, "PostalZone", details["postal_code"])
        country = cac(address, "Country")
        code = details.get("country", "")
        if code:
            cbc(country, "IdentificationCode", code)
        cbc(country, "Name", "Türkiye" if code == "TR" else code)

    def party_id(self, party: etree._Element, scheme: str, identifier: str) -> None:
        cbc(cac(party, "PartyIdentification"), "ID", identifier, schemeID=scheme)

    def supplier(self, root: etree._Element) -> None:
        details = self.document.seller_details
        party = cac(cac(root, "AccountingSupplierParty"), "Party")
        self.party_id(party, "VKN", self.seller_vkn)
        cbc(cac(party, "PartyName"), "Name", details.get("legal_name", ""))
        self.address(party, details)
        if details.get("tax_office"):
            cbc(cac(cac(party, "PartyTaxScheme"), "TaxScheme"), "Name", details["tax_office"])
        self.contact(party, details)

    def contact(self, party: etree._Element, details: dict[str, str]) -> None:
        if details.get("phone") or details.get("email"):
            contact = cac(party, "Contact")
            if details.get("phone"):
                cbc(contact, "Telephone", details["phone"])
            if details.get("email"):
                cbc(contact, "ElectronicMail", details["email"])

    @property
    def seller_vkn(self) -> str:
        return re.sub(r"\D", "", self.document.seller_details.get("tax_number", ""))

    def customer(self, root: etree._Element, buyer: Buyer, export: bool) -> None:
        details = self.document.buyer_details
        party = cac(cac(root, "AccountingCustomerParty"), "Party")
        if export:
            self.party_id(party, "VKN", CUSTOMS["vkn"])
            cbc(cac(party, "PartyName"), "Name", CUSTOMS["name"])
            self.address(party, {"city": CUSTOMS["city"], "country": "TR"})
            cbc(cac(cac(party, "PartyTaxScheme"), "TaxScheme"), "Name", CUSTOMS["tax_office"])
            return
        self.party_id(party, buyer.scheme, buyer.identifier)
        cbc(cac(party, "PartyName"), "Name", buyer.name)
        self.address(party, details)
        self.contact(party, details)
        if buyer.scheme == "TCKN":
            person = cac(party, "Person")
            cbc(person, "FirstName", buyer.first_name)
            cbc(person, "FamilyName", buyer.family_name)

    def export_buyer(self, root: etree._Element) -> None:
        details = self.document.buyer_details
        party = cac(cac(root, "BuyerCustomerParty"), "Party")
        self.party_id(party, "PARTYTYPE", "EXPORT")
        name = details.get("company") or details.get("name", "")
        cbc(cac(party, "PartyName"), "Name", name)
        self.address(party, details)
        legal = cac(party, "PartyLegalEntity")
        cbc(legal, "RegistrationName", name)
        cbc(legal, "CompanyID", details.get("vat_number") or "-")

    def signature(self, root: etree._Element) -> None:
        signature = cac(root, "Signature")
        cbc(signature, "ID", self.seller_vkn, schemeID="VKN_TCKN")
        signatory = cac(signature, "SignatoryParty")
        self.party_id(signatory, "VKN", self.seller_vkn)
        self.address(signatory, self.document.seller_details)
        reference = cac(cac(signature, "DigitalSignatureAttachment"), "ExternalReference")
        cbc(reference, "URI", "#Signature")

    def tax_subtotal(
        self,
        parent: etree._Element,
        taxable: Decimal,
        tax: Decimal,
        rate: Decimal,
        exemption: tuple[str, str] | None,
    ) -> None:
        subtotal = cac(parent, "TaxSubtotal")
        self.money(subtotal, "TaxableAmount", taxable)
        self.money(subtotal, "TaxAmount", tax)
        cbc(subtotal, "CalculationSequenceNumeric", "1")
        cbc(subtotal, "Percent", price_text(rate))
        category = cac(subtotal, "TaxCategory")
        if exemption:
            cbc(category, "TaxExemptionReasonCode", exemption[0])
            cbc(category, "TaxExemptionReason", exemption[1])
        scheme = cac(category, "TaxScheme")
        cbc(scheme, "Name", "KDV")
        cbc(scheme, "TaxTypeCode", KDV)

    def line_delivery(self, line_element: etree._Element, hs_code: str) -> None:
        order = self.document.order
        delivery = cac(line_element, "Delivery")
        self.address(delivery, self.document.buyer_details, "DeliveryAddress")
        incoterm = "DDP" if order is not None and order.duty_mode == "ddp" else "DAP"
        cbc(cac(delivery, "DeliveryTerms"), "ID", incoterm, schemeID="INCOTERMS")
        shipment = cac(delivery, "Shipment")
        cbc(shipment, "ID", "")
        gtip = re.sub(r"\D", "", hs_code).ljust(12, "0")[:12]
        cbc(cac(shipment, "GoodsItem"), "RequiredCustomsID", gtip)
        cbc(cac(shipment, "ShipmentStage"), "TransportModeCode", TRANSPORT_MODE_ROAD)


def _exemption(rate: Decimal, tax: Decimal, export: bool) -> tuple[str, str] | None:
    if tax or rate:
        return None
    return EXPORT_EXEMPTION if export else OTHER_ZERO


def ubl_tr_xml(
    document: Invoice, *, exchange_rate: Decimal | None, registered: bool = False
) -> tuple[str, str, str]:
    """The document as UBL-TR XML, with its ProfileID and InvoiceTypeCode."""
    writer = _TrWriter(document)
    buyer = buyer_of(document.buyer_details)
    profile, type_code = profile_for(document, buyer, registered=registered)
    export = profile == "IHRACAT"
    root = etree.Element(
        f"{{{NS['inv']}}}Invoice",
        nsmap={None: NS["inv"], "cac": NS["cac"], "cbc": NS["cbc"], "ext": EXT},
    )
    content = etree.SubElement(
        etree.SubElement(
            etree.SubElement(root, f"{{{EXT}}}UBLExtensions"), f"{{{EXT}}}UBLExtension"
        ),
        f"{{{EXT}}}ExtensionContent",
    )
    etree.SubElement(content, f"{{{UNSIGNED}}}Unsigned", nsmap={"kervan": UNSIGNED})
    cbc(root, "UBLVersionID", "2.1")
    cbc(root, "CustomizationID", CUSTOMIZATION)
    cbc(root, "ProfileID", profile)
    cbc(root, "ID", document.number or "")
    cbc(root, "CopyIndicator", "false")
    cbc(root, "UUID", str(document.uuid).upper())
    cbc(root, "IssueDate", document.issue_date.isoformat())
    created = document.created_at or timezone.now()
    cbc(root, "IssueTime", created.astimezone(ISTANBUL).strftime("%H:%M:%S"))
    cbc(root, "InvoiceTypeCode", type_code)
    for note in filter(None, [document.reason, *document.notes.splitlines()]):
        cbc(root, "Note", note)
    if document.order_reference:
        cbc(root, "Note", f"Sipariş: {document.order_reference}")
    cbc(root, "DocumentCurrencyCode", document.currency)
    lines = list(document.lines.all())
    extras = list(document.extras.all())
    # Charges are lines as Turkish invoices show them; an export's stay document-level
    # charges, since every export line names the goods' customs tariff number.
    charges = [extra for extra in extras if extra.is_charge and not export]
    document_level = [extra for extra in extras if not extra.is_charge or export]
    cbc(root, "LineCountNumeric", len(lines) + len(charges))
    if document.order_reference:
        reference = cac(root, "OrderReference")
        cbc(reference, "ID", document.order_reference)
        cbc(reference, "IssueDate", document.issue_date.isoformat())
    if document.kind == DocumentKind.CREDIT_NOTE and document.credited is not None:
        invoice = cac(cac(root, "BillingReference"), "InvoiceDocumentReference")
        cbc(invoice, "ID", document.credited.number or "")
        cbc(invoice, "IssueDate", document.credited.issue_date.isoformat())
        cbc(invoice, "DocumentTypeCode", "IADE")
    writer.signature(root)
    writer.supplier(root)
    writer.customer(root, buyer, export)
    if export:
        writer.export_buyer(root)
    if document.payment_terms:
        cbc(cac(root, "PaymentTerms"), "Note", document.payment_terms)
    for extra in document_level:
        element = cac(root, "AllowanceCharge")
        cbc(element, "ChargeIndicator", "true" if extra.is_charge else "false")
        cbc(element, "AllowanceChargeReason", extra.reason)
        writer.money(element, "Amount", extra.amount)
    if exchange_rate is not None:
        rate = cac(root, "PricingExchangeRate")
        cbc(rate, "SourceCurrencyCode", document.currency)
        cbc(rate, "TargetCurrencyCode", "TRY")
        cbc(rate, "CalculationRate", format(exchange_rate.quantize(Decimal("0.000001")), "f"))
        cbc(rate, "Date", document.issue_date.isoformat())
    tax_total = cac(root, "TaxTotal")
    writer.money(tax_total, "TaxAmount", document.tax_total)
    for row in document.taxes.all():
        writer.tax_subtotal(
            tax_total, row.taxable, row.tax, row.rate, _exemption(row.rate, row.tax, export)
        )
    line_total = sum((line.line_net for line in lines), Decimal(0)) + sum(
        (charge.amount for charge in charges), Decimal(0)
    )
    total = cac(root, "LegalMonetaryTotal")
    writer.money(total, "LineExtensionAmount", line_total)
    writer.money(total, "TaxExclusiveAmount", document.tax_exclusive)
    writer.money(total, "TaxInclusiveAmount", document.tax_inclusive)
    writer.money(total, "AllowanceTotalAmount", document.allowances)
    if export:
        writer.money(total, "ChargeTotalAmount", document.charges)
    writer.money(total, "PayableAmount", document.tax_inclusive)
    rows = [
        (
            line.name,
            line.sku,
            line.quantity,
            line.unit_code,
            line.line_net,
            line.line_tax,
            line.tax_rate,
            line.unit_price,
            line.hs_code,
        )
        for line in lines
    ] + [
        (
            charge.reason,
            "",
            Decimal(1),
            "C62",
            charge.amount,
            charge.tax,
            charge.tax_rate,
            charge.amount,
            "",
        )
        for charge in charges
    ]
    for position, (name, sku, quantity, unit, net, tax, rate, price, hs_code) in enumerate(
        rows, start=1
    ):
        element = cac(root, "InvoiceLine")
        cbc(element, "ID", position)
        cbc(element, "InvoicedQuantity", quantity_text(quantity), unitCode=unit)
        writer.money(element, "LineExtensionAmount", net)
        if export:
            writer.line_delivery(element, hs_code)
        line_tax = cac(element, "TaxTotal")
        writer.money(line_tax, "TaxAmount", tax)
        writer.tax_subtotal(line_tax, net, tax, rate, _exemption(rate, tax, export))
        item = cac(element, "Item")
        cbc(item, "Name", name)
        if sku:
            cbc(cac(item, "SellersItemIdentification"), "ID", sku)
        cbc(cac(element, "Price"), "PriceAmount", price_text(price), currencyID=document.currency)
    xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True).decode()
    return xml, profile, type_code
