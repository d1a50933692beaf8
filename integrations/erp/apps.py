from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ErpConfig(AppConfig):
    name = "integrations.erp"
    label = "erp"
    verbose_name = _("ERP API and webhooks")

    def ready(self) -> None:
        from integrations.erp.webhooks import erp_outbox_handler
        from orders.services import outbox_handler_register

        # Order and invoice events become webhook deliveries (written in the outbox's
        # transaction, sent by Celery after the commit).
        outbox_handler_register(erp_outbox_handler)
