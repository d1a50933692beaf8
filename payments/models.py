"""Payment methods (per market, currency, country and amount), payments and their log."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from catalog.models import translated
from shop.models import validate_currency_code


def amount_field(verbose_name: object, **options: object) -> models.DecimalField:  # type: ignore[type-arg]
    return models.DecimalField(verbose_name, max_digits=14, decimal_places=4, **options)  # type: ignore[arg-type]


class PaymentMethod(models.Model):
    """A way to pay offered at checkout, handled by a gateway (``payments.gateways``)."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    gateway = models.CharField(
        _("gateway"),
        max_length=40,
        help_text=_("The code of the gateway that handles it: bank_transfer, cash_on_delivery…"),
    )
    names = models.JSONField(
        _("names"), default=dict, help_text=_('{"en": "Bank transfer", "de": "Überweisung"}')
    )
    markets = models.ManyToManyField(  # type: ignore[var-annotated]
        "shop.Market", related_name="+", blank=True, verbose_name=_("markets")
    )
    currencies = ArrayField(
        models.CharField(max_length=3, validators=[validate_currency_code]),
        verbose_name=_("currencies"),
        default=list,
        blank=True,
        help_text=_("Empty: any currency of its markets."),
    )
    countries = ArrayField(
        models.CharField(max_length=2),
        verbose_name=_("delivery countries"),
        default=list,
        blank=True,
        help_text=_("Only for orders shipped to these countries (cash on delivery). Empty: any."),
    )
    amounts_currency = models.CharField(
        _("currency of the amounts below"),
        max_length=3,
        default="EUR",
        validators=[validate_currency_code],
        help_text=_("Converted at the day's exchange rate for orders in other currencies."),
    )
    min_order_amount = amount_field(_("minimum order total"), null=True, blank=True)
    max_order_amount = amount_field(_("maximum order total"), null=True, blank=True)
    fee_fixed = amount_field(
        _("fixed fee"), default=Decimal(0), help_text=_("Negative for a discount.")
    )
    fee_percent = models.DecimalField(
        _("fee (%)"),
        max_digits=6,
        decimal_places=3,
        default=Decimal(0),
        help_text=_("Of items and shipping; negative for a discount."),
    )
    reservation_minutes = models.PositiveIntegerField(
        _("unpaid orders hold stock for (minutes)"),
        default=15,
        help_text=_(
            "0: until the merchant cancels (cash on delivery). Bank transfer: 4320 (3 days)."
        ),
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("payment method")
        verbose_name_plural = _("payment methods")
        ordering = ["position", "code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(min_order_amount__isnull=True)
                | Q(max_order_amount__isnull=True)
                | Q(max_order_amount__gte=F("min_order_amount")),
                name="payment_method_amount_range_in_order",
            ),
            models.CheckConstraint(
                condition=Q(fee_percent__gt=-100) & Q(fee_percent__lt=100),
                name="payment_method_fee_percent_sane",
            ),
        ]

    def __str__(self) -> str:
        return self.name_in("en")

    def clean(self) -> None:
        """A fixed discount needs a minimum order total at least as large: checkout
        caps a discount at the items and shipping, but the merchant should not rely on it."""
        fee = self.fee_fixed
        if (
            fee is not None
            and fee < 0
            and (self.min_order_amount is None or self.min_order_amount < -fee)
        ):
            raise ValidationError(
                {
                    "fee_fixed": _(
                        "A fixed discount needs a minimum order total at least as large "
                        "as the discount (%(amount)s %(currency)s)."
                    )
                    % {"amount": -fee, "currency": self.amounts_currency}
                }
            )

    def name_in(self, language: str) -> str:
        return translated(self.names, language, self.code)


class PaymentStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for payment")
    PAID = "paid", _("Paid")
    CANCELLED = "cancelled", _("Cancelled")
    REFUND_DUE = "refund_due", _("Refund due")
    REFUNDED = "refunded", _("Refunded")
    FAILED = "failed", _("Failed")


class Payment(models.Model):
    """What an order is to be paid with, and how far that has got."""

    order = models.ForeignKey(
        "orders.Order", on_delete=models.CASCADE, related_name="payments", verbose_name=_("order")
    )
    method = models.ForeignKey(
        PaymentMethod, on_delete=models.PROTECT, related_name="payments", verbose_name=_("method")
    )
    gateway = models.CharField(_("gateway"), max_length=40)
    amount = amount_field(_("amount"))
    currency = models.CharField(_("currency"), max_length=3)
    status = models.CharField(
        _("status"), max_length=12, choices=PaymentStatus.choices, default=PaymentStatus.PENDING
    )
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    provider_id = models.CharField(
        _("provider's id"),
        max_length=100,
        blank=True,
        help_text=_("The payment at the provider, e.g. Stripe's PaymentIntent (pi_…)."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["order", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="payment_amount_not_negative"),
            models.UniqueConstraint(
                fields=["gateway", "provider_id"],
                condition=~Q(provider_id=""),
                name="payment_provider_id_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} ({self.status})"


class PaymentTransaction(models.Model):
    """One step of a payment, as the gateway or the merchant reported it."""

    class Kind(models.TextChoices):
        START = "start", _("Started")
        CONFIRM = "confirm", _("Confirmed")
        CAPTURE = "capture", _("Captured")
        REFUND = "refund", _("Refund")
        CANCEL = "cancel", _("Cancelled")
        FAIL = "fail", _("Failed attempt")
        DISPUTE = "dispute", _("Dispute")
        WEBHOOK = "webhook", _("Webhook")

    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="transactions")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    amount = amount_field(_("amount"), default=Decimal(0))
    is_success = models.BooleanField(_("succeeded"), default=True)
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    by = models.CharField(_("by"), max_length=150, blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)
    created_at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("payment transaction")
        verbose_name_plural = _("payment transactions")
        ordering = ["payment", "created_at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount}"


class StripeAccount(models.Model):
    """A seller's own Stripe keys (else the environment's ``STRIPE_*`` keys are used).

    The secret key and the webhook signing secret are never shown again once
    saved: the admin only says whether they are set.
    """

    seller = models.OneToOneField(
        "shop.Seller", on_delete=models.CASCADE, related_name="+", verbose_name=_("seller")
    )
    publishable_key = models.CharField(
        _("publishable key"),
        max_length=255,
        validators=[
            RegexValidator(r"^pk_(test|live)_\w+$", _("Starts with pk_test_ or pk_live_."))
        ],
    )
    secret_key = models.CharField(
        _("secret key"),
        max_length=255,
        validators=[
            RegexValidator(r"^(sk|rk)_(test|live)_\w+$", _("Starts with sk_test_ or sk_live_."))
        ],
    )
    webhook_secret = models.CharField(
        _("webhook signing secret"),
        max_length=255,
        blank=True,
        validators=[RegexValidator(r"^whsec_\w+$", _("Starts with whsec_."))],
        help_text=_(
            "From the webhook endpoint you add in Stripe's dashboard for "
            "/payments/stripe/webhook/ (events: payment_intent.succeeded, "
            "payment_intent.payment_failed, payment_intent.canceled, charge.refunded, "
            "charge.dispute.created)."
        ),
    )
    is_active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("Stripe account")
        verbose_name_plural = _("Stripe accounts")

    def __str__(self) -> str:
        mode = _("live") if self.secret_key.startswith(("sk_live_", "rk_live_")) else _("test")
        return f"Stripe ({mode})"


class GatewayEvent(models.Model):
    """A notification from a payment provider, kept once per event id.

    The row is written in the transaction that acts on the event, so an event
    delivered twice (or by two deliveries at once) acts once.
    """

    gateway = models.CharField(_("gateway"), max_length=40)
    event_id = models.CharField(_("event id"), max_length=100)
    kind = models.CharField(_("type"), max_length=100)
    payment = models.ForeignKey(
        Payment,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="events",
        verbose_name=_("payment"),
    )
    outcome = models.CharField(_("outcome"), max_length=200, blank=True)
    created_at_provider = models.DateTimeField(_("created at the provider"), null=True)
    received_at = models.DateTimeField(_("received"), auto_now_add=True)
    payload = models.JSONField(_("payload"), default=dict)

    class Meta:
        verbose_name = _("payment provider event")
        verbose_name_plural = _("payment provider events")
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["gateway", "event_id"], name="gateway_event_once"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.event_id}"


class Refund(models.Model):
    """Money given back for an order: some units, shipping, or an amount.

    ``key`` comes with the request that asked for it (a form's hidden field,
    an API's idempotency key): the same key never refunds twice.
    """

    class Status(models.TextChoices):
        SUCCEEDED = "succeeded", _("Refunded")
        PENDING = "pending", _("Pending at the provider")
        MANUAL = "manual", _("Recorded (refunded by hand)")

    order = models.ForeignKey(
        "orders.Order", on_delete=models.PROTECT, related_name="refunds", verbose_name=_("order")
    )
    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, related_name="refunds", verbose_name=_("payment")
    )
    key = models.CharField(_("request key"), max_length=100, unique=True)
    amount = amount_field(_("amount"))
    currency = models.CharField(_("currency"), max_length=3)
    shipping_amount = amount_field(_("of which shipping"), default=Decimal(0))
    status = models.CharField(_("status"), max_length=12, choices=Status.choices)
    reference = models.CharField(
        _("reference"),
        max_length=100,
        blank=True,
        help_text=_("The provider's refund id, or the merchant's transfer reference."),
    )
    note = models.CharField(_("note"), max_length=500, blank=True)
    restocked = models.BooleanField(_("units back in stock"), default=False)
    created_by = models.CharField(_("by"), max_length=150)
    created_at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["order", "created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
            models.CheckConstraint(
                condition=Q(shipping_amount__gte=0) & Q(shipping_amount__lte=F("amount")),
                name="refund_shipping_within_amount",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} ({self.get_status_display()})"


class RefundLine(models.Model):
    """Units of an order line a refund gave money back for."""

    refund = models.ForeignKey(Refund, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(
        "orders.OrderLine", on_delete=models.PROTECT, related_name="+", verbose_name=_("line")
    )
    quantity = models.PositiveIntegerField(_("quantity"))
    amount = amount_field(_("amount"))

    class Meta:
        verbose_name = _("refunded line")
        verbose_name_plural = _("refunded lines")
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="refund_line_quantity_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.order_line_id}"
