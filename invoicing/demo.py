"""Demo invoicing: every seller numbers its documents; the Turkish seller sends its
e-invoices (e-Fatura / e-Arşiv) through the local sandbox provider."""

from __future__ import annotations

from django.db import transaction

from invoicing.models import InvoicingSettings
from invoicing.services import invoicing_settings
from shop.models import Seller


@transaction.atomic
def invoicing_demo_setup() -> dict[str, InvoicingSettings]:
    settings = {seller.code: invoicing_settings(seller) for seller in Seller.objects.all()}
    if "kervan-tr" in settings:
        turkish = settings["kervan-tr"]
        turkish.invoice_prefix, turkish.e_invoice_provider = "KRV", "sandbox"
        turkish.save(update_fields=["invoice_prefix", "e_invoice_provider"])
    if "kervan-eu" in settings:
        european = settings["kervan-eu"]
        european.footer = "Kervan Europe B.V. · KvK 12345678 · Rotterdam"
        european.save(update_fields=["footer"])
    return settings
