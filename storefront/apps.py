from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StorefrontConfig(AppConfig):
    name = "storefront"
    verbose_name = _("Storefront")

    def ready(self) -> None:
        from orders.services import outbox_handler_register
        from storefront.accounts import accounts_connect
        from storefront.dealer_emails import dealer_emails_connect
        from storefront.emails import order_email_enqueue

        accounts_connect()
        # Order events (placed, paid, shipped, cancelled, refunded) send the shopper an e-mail.
        outbox_handler_register(order_email_enqueue)
        dealer_emails_connect()  # dealer application decisions e-mail the customer
