from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = _("Payments")

    def ready(self) -> None:
        from orders.services import order_expiry_cancel_register
        from payments import stripe_gateway  # noqa: F401 -- registers the Stripe gateway
        from payments.services import order_payment_cancel

        # Orders that expire unpaid are cancelled with their payments.
        order_expiry_cancel_register(order_payment_cancel)
