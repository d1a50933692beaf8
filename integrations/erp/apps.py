from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ErpConfig(AppConfig):
    name = "integrations.erp"
    label = "erp"
    verbose_name = _("ERP API and webhooks")

    def ready(self) -> None:
        from catalog.services import product_change_listener_register
        from integrations.erp.webhooks import erp_outbox_handler, stock_low_note
        from orders.services import outbox_handler_register

        # Order and invoice events become webhook deliveries (written in the outbox's
        # transaction, sent by Celery after the commit); orders moving stock are
        # checked for stock.low there too.
        outbox_handler_register(erp_outbox_handler)
        # Every other stock change is checked for stock.low in its own transaction.
        product_change_listener_register(stock_low_note)
