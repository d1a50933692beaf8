from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InvoicingConfig(AppConfig):
    name = "invoicing"
    verbose_name = _("Invoicing")

    def ready(self) -> None:
        from invoicing.handlers import invoicing_connect

        # Paid, shipped, refunded and cancelled orders get their invoices and credit notes.
        invoicing_connect()
