"""Marketplaces the shop sells on, what it lists there, and the sync's own records.

A ``Marketplace`` says which adapter talks to it, with which credentials,
for which market's prices and stock (plus a price adjustment). ``Listing``
rows say which variants are listed and what was last sent. Price and stock
changes reach ``SyncEvent`` (an outbox written in the changing transaction),
the relay turns them into ``SyncBatch`` rows (what is being sent; products
created or updated on the marketplace travel as batches too), and every
item the marketplace refused, or the shop could not send, is kept as a
``SyncRejection``. ``OrderImport``
records each marketplace order read, imported or not.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Adapter(models.TextChoices):
    TRENDYOL = "trendyol", "Trendyol"


class Marketplace(models.Model):
    """One seller account on a marketplace, selling one market's prices and stock."""

    code = models.SlugField(
        _("code"),
        max_length=40,
        unique=True,
        help_text=_("Also the channel of the orders imported from it, e.g. trendyol-tr."),
    )
    name = models.CharField(_("name"), max_length=100)
    adapter = models.CharField(_("adapter"), max_length=20, choices=Adapter.choices)
    market = models.ForeignKey(
        "shop.Market",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("market"),
        help_text=_("Whose prices (as its storefront shows them) and stock are sent."),
    )
    seller_id = models.CharField(_("seller id"), max_length=40)
    api_key = models.CharField(_("API key"), max_length=200, blank=True)
    api_secret = models.CharField(_("API secret"), max_length=200, blank=True)
    base_url = models.URLField(
        _("API address"),
        blank=True,
        help_text=_("Empty: the adapter's production address."),
    )
    price_adjustment_percent = models.DecimalField(
        _("price adjustment (%)"),
        max_digits=6,
        decimal_places=2,
        default=Decimal(0),
        validators=[MinValueValidator(Decimal(-90)), MaxValueValidator(Decimal(500))],
        help_text=_("Added to the storefront price, e.g. 10 for +10 % (commission)."),
    )
    requests_per_second = models.DecimalField(
        _("requests per second"),
        max_digits=6,
        decimal_places=2,
        default=Decimal(5),
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text=_("How fast the shop may call the marketplace (a shared token bucket)."),
    )
    request_burst = models.PositiveSmallIntegerField(
        _("request burst"), default=10, validators=[MinValueValidator(1)]
    )
    is_active = models.BooleanField(
        _("active"), default=False, help_text=_("Only active marketplaces are synced.")
    )
    orders_read_until = models.DateTimeField(_("orders read until"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("marketplace")
        verbose_name_plural = _("marketplaces")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(price_adjustment_percent__gte=-90), name="marketplace_adjustment_sane"
            ),
            models.CheckConstraint(
                condition=Q(requests_per_second__gt=0), name="marketplace_rate_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def bucket_key(self) -> str:
        """The token bucket every worker shares for this account's calls."""
        return f"marketplace:{self.pk}"


class CategoryMapping(models.Model):
    """Our category → the marketplace's category id (for creating listings)."""

    marketplace = models.ForeignKey(
        Marketplace, on_delete=models.CASCADE, related_name="category_mappings"
    )
    category = models.ForeignKey(
        "catalog.Category", on_delete=models.CASCADE, related_name="+", verbose_name=_("category")
    )
    external_id = models.CharField(_("marketplace category id"), max_length=40)

    class Meta:
        verbose_name = _("category mapping")
        verbose_name_plural = _("category mappings")
        constraints = [
            models.UniqueConstraint(
                fields=["marketplace", "category"], name="marketplace_category_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.category_id} → {self.external_id}"


class AttributeMapping(models.Model):
    """Our attribute → the marketplace's attribute id (for creating listings)."""

    marketplace = models.ForeignKey(
        Marketplace, on_delete=models.CASCADE, related_name="attribute_mappings"
    )
    attribute = models.ForeignKey(
        "catalog.Attribute",
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("attribute"),
    )
    external_id = models.CharField(_("marketplace attribute id"), max_length=40)

    class Meta:
        verbose_name = _("attribute mapping")
        verbose_name_plural = _("attribute mappings")
        constraints = [
            models.UniqueConstraint(
                fields=["marketplace", "attribute"], name="marketplace_attribute_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.attribute_id} → {self.external_id}"


class ListingState(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    SENT = "sent", _("Sent, result pending")
    ACTIVE = "active", _("Accepted")
    REJECTED = "rejected", _("Rejected")


class Listing(models.Model):
    """A variant listed on a marketplace, under a barcode, and what was last sent for it.

    ``last_sent_*`` are what the marketplace was last told (absolute values):
    the relay sends an item only when what it would send now differs. A
    rejected item's values are cleared, so the next change sends it again.
    """

    marketplace = models.ForeignKey(Marketplace, on_delete=models.CASCADE, related_name="listings")
    variant = models.ForeignKey(
        "catalog.Variant", on_delete=models.CASCADE, related_name="+", verbose_name=_("variant")
    )
    barcode = models.CharField(_("barcode"), max_length=40)
    is_active = models.BooleanField(
        _("listed"), default=True, help_text=_("Not listed: the marketplace is sent no stock.")
    )
    state = models.CharField(
        _("state"), max_length=10, choices=ListingState.choices, default=ListingState.PENDING
    )
    last_sent_price = models.DecimalField(
        _("last sent price"), max_digits=14, decimal_places=4, null=True, blank=True
    )
    last_sent_list_price = models.DecimalField(
        _("last sent list price"), max_digits=14, decimal_places=4, null=True, blank=True
    )
    last_sent_quantity = models.IntegerField(_("last sent stock"), null=True, blank=True)
    last_sent_at = models.DateTimeField(_("last sent"), null=True, blank=True)
    last_error = models.TextField(_("last rejection"), blank=True)
    listed_at = models.DateTimeField(
        _("on the marketplace since"),
        null=True,
        blank=True,
        help_text=_(
            "When the marketplace first accepted the product (created there, or its "
            "price and stock taken). Empty: still to be created."
        ),
    )

    class Meta:
        verbose_name = _("listing")
        verbose_name_plural = _("listings")
        ordering = ["marketplace", "barcode"]
        constraints = [
            models.UniqueConstraint(fields=["marketplace", "variant"], name="listing_once"),
            models.UniqueConstraint(fields=["marketplace", "barcode"], name="listing_barcode_once"),
        ]
        indexes = [models.Index(fields=["variant"], name="listing_by_variant")]

    def __str__(self) -> str:
        return self.barcode


class SyncEvent(models.Model):
    """A product whose prices or stock may have changed for a marketplace: written by
    the catalogue's change hook in the changing transaction, deleted when batched."""

    marketplace = models.ForeignKey(Marketplace, on_delete=models.CASCADE, related_name="+")
    product_id = models.BigIntegerField(_("product"))
    source = models.CharField(_("source"), max_length=60, blank=True)
    created_at = models.DateTimeField(_("created"))

    class Meta:
        verbose_name = _("sync event")
        verbose_name_plural = _("sync events")
        indexes = [models.Index(fields=["marketplace", "id"], name="sync_event_pending")]

    def __str__(self) -> str:
        return f"{self.marketplace_id}: product {self.product_id}"


class BatchState(models.TextChoices):
    SENDING = "sending", _("Sending")
    WAITING = "waiting", _("Waiting to retry")
    SENT = "sent", _("Sent, checking results")
    COMPLETED = "completed", _("Completed")
    FAILED = "failed", _("Refused")


class BatchKind(models.TextChoices):
    PRICE_STOCK = "price_stock", _("Prices and stock")
    LISTING_CREATE = "listing_create", _("Create products")
    LISTING_UPDATE = "listing_update", _("Update products")


class SyncBatch(models.Model):
    """One price-and-stock or product request (≤ the marketplace's item limit), recorded before
    it is sent: a crash after sending leaves it ``sending`` and the next run sends
    it again (absolute values, so sending twice changes nothing). Batches of a
    marketplace are sent in id order, one relay at a time, whatever their kind:
    a product created before its price changes gets the change after it."""

    marketplace = models.ForeignKey(Marketplace, on_delete=models.CASCADE, related_name="batches")
    kind = models.CharField(
        _("kind"), max_length=20, choices=BatchKind.choices, default=BatchKind.PRICE_STOCK
    )
    state = models.CharField(
        _("state"), max_length=10, choices=BatchState.choices, default=BatchState.SENDING
    )
    items = models.JSONField(_("items"), default=list)
    item_count = models.PositiveIntegerField(_("items"), default=0)
    failed_count = models.PositiveIntegerField(_("refused items"), default=0)
    remote_id = models.CharField(_("marketplace batch id"), max_length=100, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)

    class Meta:
        verbose_name = _("sync batch")
        verbose_name_plural = _("sync batches")
        ordering = ["-id"]
        indexes = [
            models.Index(
                fields=["marketplace", "id"],
                condition=Q(state__in=["sending", "waiting", "sent"]),
                name="sync_batch_open",
            )
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.state}"


class SyncRejection(models.Model):
    """An item the marketplace refused, or the shop could not send, with its reason
    (the sync log of the admin). Without a batch: never sent (e.g. a product
    without a category mapping or an image)."""

    marketplace = models.ForeignKey(
        Marketplace, on_delete=models.CASCADE, related_name="rejections"
    )
    batch = models.ForeignKey(
        SyncBatch, on_delete=models.SET_NULL, null=True, blank=True, related_name="rejections"
    )
    listing = models.ForeignKey(
        Listing, on_delete=models.SET_NULL, null=True, blank=True, related_name="rejections"
    )
    barcode = models.CharField(_("barcode"), max_length=40)
    reason = models.TextField(_("reason"))
    item = models.JSONField(_("item sent"), default=dict)
    created_at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("rejection")
        verbose_name_plural = _("rejections")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.barcode}: {self.reason[:60]}"


class ImportState(models.TextChoices):
    IMPORTED = "imported", _("Imported")
    REJECTED = "rejected", _("Not imported")


class OrderImport(models.Model):
    """A marketplace order as read: imported into the order list, or refused with why
    (no stock, unknown barcode), so none is lost."""

    marketplace = models.ForeignKey(Marketplace, on_delete=models.CASCADE, related_name="imports")
    external_id = models.CharField(_("marketplace reference"), max_length=100)
    order_number = models.CharField(_("marketplace order number"), max_length=100, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=ImportState.choices)
    order = models.ForeignKey(
        "orders.Order", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reason = models.TextField(_("reason"), blank=True)
    acknowledged = models.BooleanField(_("acknowledged"), default=False)
    payload = models.JSONField(_("as read"), default=dict)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    created_at = models.DateTimeField(_("first read"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("order import")
        verbose_name_plural = _("order imports")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["marketplace", "external_id"], name="order_import_once")
        ]

    def __str__(self) -> str:
        return f"{self.marketplace_id}: {self.external_id}"
