from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MarketplacesConfig(AppConfig):
    name = "integrations.marketplaces"
    label = "marketplaces"
    verbose_name = _("Marketplaces")

    def ready(self) -> None:
        # Price and stock changes write marketplace sync events in their own
        # transaction, and so do orders that reserve or release stock; shipped
        # marketplace orders send their tracking number.
        from catalog.services import product_change_listener_register
        from integrations.marketplaces.services import (
            order_shipped_forward,
            order_stock_moved,
            sync_events_note,
        )
        from orders.services import outbox_handler_register

        product_change_listener_register(sync_events_note)
        outbox_handler_register(order_stock_moved)
        outbox_handler_register(order_shipped_forward)
