"""What the ERP API and the outgoing webhooks keep: API tokens (only a hash of each
secret), the answers stored for idempotency keys, the ERP's acknowledgements of
orders, webhook subscribers and every delivery with its attempts."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Scope(models.TextChoices):
    """What a token may do; every endpoint asks for one."""

    CATALOG_READ = "catalog:read", _("Read products, variants, prices and stock")
    PRICES_WRITE = "prices:write", _("Write prices")
    STOCK_WRITE = "stock:write", _("Write stock quantities")
    ORDERS_READ = "orders:read", _("Read orders")
    ORDERS_WRITE = "orders:write", _("Acknowledge and ship orders")
    INVOICES_READ = "invoices:read", _("Read and download invoices")


class ApiToken(models.Model):
    """A bearer token of the ERP API. The secret is shown once when the token is made;
    only its SHA-256 is kept, with a short prefix to find the row and to tell tokens apart."""

    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=16, unique=True, editable=False)
    token_hash = models.CharField(max_length=64, editable=False)
    scopes = models.JSONField(_("scopes"), default=list)
    is_active = models.BooleanField(_("active"), default=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def allows(self, scope: str) -> bool:
        return scope in self.scopes


class IdempotencyRecord(models.Model):
    """The first answer to a POST sent with an ``Idempotency-Key``, per token and key.

    ``status`` 0 marks a request still running. ``fingerprint`` is the SHA-256 of
    the method, path and body: the same key with another request is refused.
    """

    token = models.ForeignKey(ApiToken, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField(default=0)
    body = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [
            models.UniqueConstraint(fields=["token", "key"], name="idempotency_key_once_per_token")
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_by_age")]

    def __str__(self) -> str:
        return self.key


class OrderAcknowledgement(models.Model):
    """The ERP has taken the order over (once per order; repeating it changes nothing)."""

    order = models.OneToOneField(
        "orders.Order",
        on_delete=models.CASCADE,
        related_name="erp_acknowledgement",
        verbose_name=_("order"),
    )
    token = models.ForeignKey(
        ApiToken, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reference = models.CharField(
        _("ERP reference"),
        max_length=100,
        blank=True,
        help_text=_("The order's number in the ERP."),
    )
    acknowledged_at = models.DateTimeField(_("acknowledged"), auto_now_add=True)

    class Meta:
        verbose_name = _("ERP acknowledgement")
        verbose_name_plural = _("ERP acknowledgements")
        ordering = ["-acknowledged_at", "-id"]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.reference or '—'}"


class WebhookEvent(models.TextChoices):
    ORDER_CREATED = "order.created", _("Order created")
    ORDER_PAID = "order.paid", _("Order paid")
    ORDER_SHIPPED = "order.shipped", _("Order shipped")
    ORDER_CANCELLED = "order.cancelled", _("Order cancelled")
    STOCK_LOW = "stock.low", _("Stock low")
    INVOICE_ISSUED = "invoice.issued", _("Invoice issued")


class WebhookSubscriber(models.Model):
    """An HTTPS endpoint that receives the events it subscribed to, signed with its secret."""

    name = models.CharField(_("name"), max_length=100)
    url = models.URLField(_("URL"), max_length=500)
    events = models.JSONField(_("events"), default=list)
    secret = models.CharField(
        _("signing secret"),
        max_length=100,
        help_text=_("The receiver checks X-Kervan-Signature with it."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("webhook subscriber")
        verbose_name_plural = _("webhook subscribers")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Given up")


class WebhookDelivery(models.Model):
    """One event for one subscriber: its payload as sent, and where its sending stands.

    ``event_id`` is the same for every subscriber of one event and in every
    attempt and redelivery, so a receiver can drop duplicates. ``source`` (e.g.
    the outbox event) makes writing the deliveries of an event idempotent.
    """

    subscriber = models.ForeignKey(
        WebhookSubscriber, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.CharField(_("event"), max_length=40, choices=WebhookEvent.choices)
    event_id = models.UUIDField(_("event id"), default=uuid.uuid4)
    source = models.CharField(_("source"), max_length=100)
    payload = models.JSONField(_("payload"))
    state = models.CharField(
        _("state"), max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    leased_until = models.DateTimeField(null=True, blank=True, editable=False)
    last_status_code = models.PositiveSmallIntegerField(_("last response"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscriber", "source"], name="webhook_delivery_once_per_source"
            )
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(state="pending"),
                name="webhook_delivery_due",
            )
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.subscriber_id} ({self.state})"


class WebhookAttempt(models.Model):
    """One POST of a delivery: the answer's status, how long it took, or the error."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="log")
    at = models.DateTimeField(_("at"), auto_now_add=True)
    status_code = models.PositiveSmallIntegerField(_("response"), null=True, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    error = models.TextField(_("error"), blank=True)
    response_body = models.TextField(_("response body"), blank=True)

    class Meta:
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")
        ordering = ["delivery", "at", "id"]

    def __str__(self) -> str:
        return f"{self.delivery_id} @ {self.at:%Y-%m-%d %H:%M:%S}: {self.status_code or self.error}"


class StockLowState(models.Model):
    """Whether a variant's stock in a pool is at or below its low-stock threshold, as
    ``stock.low`` last saw it: the event fires when ``is_low`` turns true, once per
    crossing; going back above the threshold clears it so the next drop fires again.

    ``crossings`` counts the times it went low (it names each event's occurrence).
    Written only by ``webhooks.stock_low_check``.
    """

    variant = models.ForeignKey(
        "catalog.Variant", on_delete=models.CASCADE, related_name="+", verbose_name=_("variant")
    )
    pool = models.ForeignKey(
        "pricing.StockPool",
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("stock pool"),
    )
    is_low = models.BooleanField(_("low"), default=False)
    crossings = models.PositiveIntegerField(_("times gone low"), default=0)
    changed_at = models.DateTimeField(_("changed"), auto_now=True)

    class Meta:
        verbose_name = _("low-stock state")
        verbose_name_plural = _("low-stock states")
        constraints = [
            models.UniqueConstraint(
                fields=["variant", "pool"], name="stock_low_state_once_per_level"
            )
        ]

    def __str__(self) -> str:
        return f"{self.variant_id}@{self.pool_id}: {'low' if self.is_low else 'ok'}"
