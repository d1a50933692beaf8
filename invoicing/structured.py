"""The structured e-invoice of a document: UBL-TR for a seller in Türkiye, UBL 2.1 /
EN 16931 everywhere else."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from invoicing.models import DocumentKind, Invoice
from pricing.rates import current_rates


@dataclass(frozen=True)
class Structured:
    xml: str
    profile: str
    type_code: str
    exchange_rate: Decimal | None = None
    tax_currency: str = ""


def try_rate(currency: str) -> Decimal | None:
    """Turkish lira per unit of ``currency`` from the shop's exchange rates (None
    when one of them is unknown)."""
    if currency == "TRY":
        return None
    rates = current_rates()
    if "TRY" not in rates or currency not in rates:
        return None
    rate = rates["TRY"] / rates[currency]
    return rate.quantize(Decimal("0.000001"), ROUND_HALF_UP)


def structured_document(document: Invoice) -> Structured:
    from invoicing.services import invoicing_settings

    settings = invoicing_settings(document.seller)
    payment_method = document.order.payment_method_code if document.order else ""
    if document.seller_details.get("country") == "TR" and document.kind != DocumentKind.PROFORMA:
        from invoicing.providers import provider_for
        from invoicing.ubl_tr import buyer_of, ubl_tr_xml

        rate = try_rate(document.currency)
        buyer = buyer_of(document.buyer_details)
        provider = provider_for(settings.e_invoice_provider)
        registered = bool(
            provider and buyer.scheme == "VKN" and provider.is_registered(buyer.identifier)
        )
        xml, profile, type_code = ubl_tr_xml(document, exchange_rate=rate, registered=registered)
        return Structured(xml, profile, type_code, rate, "TRY" if rate else "")
    from invoicing.ubl import en16931_xml

    xml = en16931_xml(
        document, seller_address=settings.electronic_address, payment_method=payment_method
    )
    return Structured(xml, "EN16931", TYPE_CODES[document.kind])


# UNTDID 1001: commercial invoice, credit note, proforma invoice
TYPE_CODES: dict[str, str] = {
    DocumentKind.INVOICE: "380",
    DocumentKind.CREDIT_NOTE: "381",
    DocumentKind.PROFORMA: "325",
}
