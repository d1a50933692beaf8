"""Payment methods (per market, currency, country and amount), payments and their log."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
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
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["order", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="payment_amount_not_negative"),
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
