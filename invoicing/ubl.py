"""UBL 2.1 invoices and credit notes conforming to EN 16931.

Elements are written in the order the UBL 2.1 schemas require. Amounts carry
the currency's minor unit (EN 16931 allows at most two decimals); unit prices
keep up to six, so quantity × price gives the line amount. When both seller
and buyer have an electronic address, the document names the Peppol BIS
Billing 3.0 specification and profile.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from lxml import etree

from invoicing.models import DocumentKind, Invoice, InvoiceCharge, InvoiceLine, InvoiceTax

NS = {
    "inv": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "cn": "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
EN16931 = "urn:cen.eu:en16931:2017"
PEPPOL_CUSTOMIZATION = EN16931 + "#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
PEPPOL_PROFILE = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
INVOICE_TYPE = "380"  # commercial invoice (UNTDID 1001)
CREDIT_NOTE_TYPE = "381"
PROFORMA_TYPE = "325"
# Payment means (UNTDID 4461) by the order's payment method.
PAYMENT_MEANS = {"bank-transfer": "58", "card": "48", "cash-on-delivery": "10"}


def cbc(parent: etree._Element, name: str, text: object = None, **attrs: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{NS['cbc']}}}{name}", attrs)
    if text is not None:
        element.text = str(text)
    return element


def cac(parent: etree._Element, name: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{NS['cac']}}}{name}")


def amount_text(amount: Decimal, digits: int = 2) -> str:
    return str(Decimal(amount).quantize(Decimal(1).scaleb(-digits), ROUND_HALF_UP))


def price_text(amount: Decimal) -> str:
    """A unit price without needless trailing zeros (at least two decimals)."""
    text = format(Decimal(amount).normalize(), "f")
    whole, _dot, decimals = text.partition(".")
    return f"{whole}.{decimals.ljust(2, '0')}"


def quantity_text(quantity: Decimal) -> str:
    return format(Decimal(quantity).normalize(), "f")


class _Writer:
    def __init__(self, document: Invoice) -> None:
        self.document = document
        self.currency = document.currency
        self.digits = 0 if document.currency in {"JPY", "KRW", "HUF"} else 2

    def money(self, parent: etree._Element, name: str, amount: Decimal) -> etree._Element:
        return cbc(parent, name, amount_text(amount, self.digits), currencyID=self.currency)

    def tax_category(
        self,
        parent: etree._Element,
        name: str,
        category: str,
        rate: Decimal,
        code: str = "",
        reason: str = "",
    ) -> None:
        element = cac(parent, name)
        cbc(element, "ID", category)
        if category != "O":
            cbc(element, "Percent", price_text(rate))
        if code:
            cbc(element, "TaxExemptionReasonCode", code)
        if reason:
            cbc(element, "TaxExemptionReason", reason)
        cbc(cac(element, "TaxScheme"), "ID", "VAT")

    def address(self, parent: etree._Element, details: dict[str, str]) -> None:
        address = cac(parent, "PostalAddress")
        if details.get("line1"):
            cbc(address, "StreetName", details["line1"])
        if details.get("line2"):
            cbc(address, "AdditionalStreetName", details["line2"])
        if details.get("city"):
            cbc(address, "CityName", details["city"])
        if details.get("postal_code"):
            cbc(address, "PostalZone", details["postal_code"])
        if details.get("region"):
            cbc(address, "CountrySubentity", details["region"])
        cbc(cac(address, "Country"), "IdentificationCode", details.get("country", ""))

    def endpoint(self, party: etree._Element, address: str) -> None:
        scheme, _colon, identifier = address.partition(":")
        if identifier:
            cbc(party, "EndpointID", identifier, schemeID=scheme)

    def seller(self, root: etree._Element, electronic_address: str) -> None:
        details = self.document.seller_details
        party = cac(cac(root, "AccountingSupplierParty"), "Party")
        self.endpoint(party, electronic_address)
        cbc(cac(party, "PartyName"), "Name", details.get("legal_name", ""))
        self.address(party, details)
        if details.get("vat_number"):
            scheme = cac(party, "PartyTaxScheme")
            cbc(scheme, "CompanyID", details["vat_number"])
            cbc(cac(scheme, "TaxScheme"), "ID", "VAT")
        legal = cac(party, "PartyLegalEntity")
        cbc(legal, "RegistrationName", details.get("legal_name", ""))
        if details.get("tax_number"):
            cbc(legal, "CompanyID", details["tax_number"])
        if details.get("phone") or details.get("email"):
            contact = cac(party, "Contact")
            if details.get("phone"):
                cbc(contact, "Telephone", details["phone"])
            if details.get("email"):
                cbc(contact, "ElectronicMail", details["email"])

    def buyer(self, root: etree._Element, electronic_address: str) -> None:
        details = self.document.buyer_details
        party = cac(cac(root, "AccountingCustomerParty"), "Party")
        self.endpoint(party, electronic_address)
        name = details.get("company") or details.get("name", "")
        cbc(cac(party, "PartyName"), "Name", name)
        self.address(party, details)
        if details.get("vat_number"):
            scheme = cac(party, "PartyTaxScheme")
            cbc(scheme, "CompanyID", details["vat_number"])
            cbc(cac(scheme, "TaxScheme"), "ID", "VAT")
        cbc(cac(party, "PartyLegalEntity"), "RegistrationName", name)
        if details.get("email") or details.get("phone"):
            contact = cac(party, "Contact")
            if details.get("company") and details.get("name"):
                cbc(contact, "Name", details["name"])
            if details.get("phone"):
                cbc(contact, "Telephone", details["phone"])
            if details.get("email"):
                cbc(contact, "ElectronicMail", details["email"])

    def delivery(self, root: etree._Element) -> None:
        document = self.document
        delivery = cac(root, "Delivery")
        if document.delivery_date:
            cbc(delivery, "ActualDeliveryDate", document.delivery_date.isoformat())
        country = document.buyer_details.get("delivery_country", "")
        if country:
            address = cac(cac(delivery, "DeliveryLocation"), "Address")
            cbc(cac(address, "Country"), "IdentificationCode", country)

    def payment(self, root: etree._Element, method: str, credit_note: bool) -> None:
        document = self.document
        details = document.seller_details
        code = PAYMENT_MEANS.get(method, "1" if not document.payable else "30")
        if document.payable and details.get("iban"):
            code = "58" if method == "bank-transfer" else "30"
        means = cac(root, "PaymentMeans")
        cbc(means, "PaymentMeansCode", code)
        if credit_note and document.due_date:
            cbc(means, "PaymentDueDate", document.due_date.isoformat())
        cbc(means, "PaymentID", document.order_reference or document.display_number)
        if code in {"30", "58"} and details.get("iban"):
            account = cac(means, "PayeeFinancialAccount")
            cbc(account, "ID", details["iban"])
            cbc(account, "Name", details.get("legal_name", ""))
            if details.get("bic"):
                cbc(cac(account, "FinancialInstitutionBranch"), "ID", details["bic"])
        if document.payment_terms:
            cbc(cac(root, "PaymentTerms"), "Note", document.payment_terms)

    def allowance_charge(self, root: etree._Element, extra: InvoiceCharge) -> None:
        element = cac(root, "AllowanceCharge")
        cbc(element, "ChargeIndicator", "true" if extra.is_charge else "false")
        if extra.reason_code:
            cbc(element, "AllowanceChargeReasonCode", extra.reason_code)
        cbc(element, "AllowanceChargeReason", extra.reason)
        self.money(element, "Amount", extra.amount)
        self.tax_category(element, "TaxCategory", extra.tax_category, extra.tax_rate)

    def tax_total(self, root: etree._Element, taxes: list[InvoiceTax]) -> None:
        total = cac(root, "TaxTotal")
        self.money(total, "TaxAmount", self.document.tax_total)
        for row in taxes:
            subtotal = cac(total, "TaxSubtotal")
            self.money(subtotal, "TaxableAmount", row.taxable)
            self.money(subtotal, "TaxAmount", row.tax)
            self.tax_category(
                subtotal,
                "TaxCategory",
                row.category,
                row.rate,
                row.exemption_code,
                row.exemption_reason,
            )

    def monetary_total(self, root: etree._Element) -> None:
        document = self.document
        total = cac(root, "LegalMonetaryTotal")
        self.money(total, "LineExtensionAmount", document.lines_net)
        self.money(total, "TaxExclusiveAmount", document.tax_exclusive)
        self.money(total, "TaxInclusiveAmount", document.tax_inclusive)
        if document.allowances:
            self.money(total, "AllowanceTotalAmount", document.allowances)
        if document.charges:
            self.money(total, "ChargeTotalAmount", document.charges)
        if document.prepaid:
            self.money(total, "PrepaidAmount", document.prepaid)
        self.money(total, "PayableAmount", document.payable)

    def line(self, root: etree._Element, line: InvoiceLine, credit_note: bool) -> None:
        element = cac(root, "CreditNoteLine" if credit_note else "InvoiceLine")
        cbc(element, "ID", line.position)
        cbc(
            element,
            "CreditedQuantity" if credit_note else "InvoicedQuantity",
            quantity_text(line.quantity),
            unitCode=line.unit_code,
        )
        self.money(element, "LineExtensionAmount", line.line_net)
        item = cac(element, "Item")
        cbc(item, "Name", line.name)
        if line.sku:
            cbc(cac(item, "SellersItemIdentification"), "ID", line.sku)
        if line.origin_country:
            cbc(cac(item, "OriginCountry"), "IdentificationCode", line.origin_country)
        if line.hs_code:
            cbc(
                cac(item, "CommodityClassification"),
                "ItemClassificationCode",
                line.hs_code,
                listID="HS",
            )
        self.tax_category(item, "ClassifiedTaxCategory", line.tax_category, line.tax_rate)
        price = cac(element, "Price")
        cbc(price, "PriceAmount", price_text(line.unit_price), currencyID=self.currency)


def en16931_xml(document: Invoice, *, seller_address: str = "", payment_method: str = "") -> str:
    """The document as UBL 2.1 XML conforming to EN 16931 (a credit note as a
    ``CreditNote`` referencing the invoice it credits)."""
    credit_note = document.kind == DocumentKind.CREDIT_NOTE
    writer = _Writer(document)
    root = etree.Element(
        f"{{{NS['cn' if credit_note else 'inv']}}}{'CreditNote' if credit_note else 'Invoice'}",
        nsmap={None: NS["cn" if credit_note else "inv"], "cac": NS["cac"], "cbc": NS["cbc"]},
    )
    buyer_address = (
        f"EM:{document.buyer_details['email']}" if document.buyer_details.get("email") else ""
    )
    peppol = bool(seller_address and buyer_address)
    cbc(root, "CustomizationID", PEPPOL_CUSTOMIZATION if peppol else EN16931)
    if peppol:
        cbc(root, "ProfileID", PEPPOL_PROFILE)
    cbc(root, "ID", document.display_number)
    cbc(root, "IssueDate", document.issue_date.isoformat())
    if not credit_note and document.due_date:
        cbc(root, "DueDate", document.due_date.isoformat())
    cbc(
        root,
        "CreditNoteTypeCode" if credit_note else "InvoiceTypeCode",
        CREDIT_NOTE_TYPE
        if credit_note
        else PROFORMA_TYPE
        if document.kind == DocumentKind.PROFORMA
        else INVOICE_TYPE,
    )
    for note in filter(None, [document.reason, *document.notes.splitlines()]):
        cbc(root, "Note", note)
    cbc(root, "DocumentCurrencyCode", document.currency)
    cbc(root, "BuyerReference", document.order_reference or document.display_number)
    if document.order_reference:
        cbc(cac(root, "OrderReference"), "ID", document.order_reference)
    if credit_note and document.credited is not None:
        reference = cac(cac(root, "BillingReference"), "InvoiceDocumentReference")
        cbc(reference, "ID", document.credited.display_number)
        cbc(reference, "IssueDate", document.credited.issue_date.isoformat())
    writer.seller(root, seller_address)
    writer.buyer(root, buyer_address if peppol else "")
    writer.delivery(root)
    writer.payment(root, payment_method, credit_note)
    extras = list(document.extras.all())
    if not credit_note:
        for extra in extras:
            writer.allowance_charge(root, extra)
    else:
        for extra in extras:
            writer.allowance_charge(root, extra)
    writer.tax_total(root, list(document.taxes.all()))
    writer.monetary_total(root)
    for line in document.lines.all():
        writer.line(root, line, credit_note)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True).decode()
