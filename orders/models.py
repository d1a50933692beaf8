"""Carts, orders and their lifecycle, stock reservations, shipments and the outbox."""

from __future__ import annotations

import hashlib
from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise


def money_field(verbose_name: StrOrPromise, **options: object) -> models.DecimalField:  # type: ignore[type-arg]
    """An amount in the document's currency (quantized to its minor unit when written)."""
    return models.DecimalField(verbose_name, max_digits=14, decimal_places=4, **options)  # type: ignore[arg-type]


def rate_field(verbose_name: StrOrPromise) -> models.DecimalField:  # type: ignore[type-arg]
    return models.DecimalField(verbose_name, max_digits=6, decimal_places=3, default=Decimal(0))


def token_hash(token: str) -> str:
    """What is stored of a cart's token: its SHA-256, so a database leak opens no carts."""
    return hashlib.sha256(token.encode()).hexdigest()


class Cart(models.Model):
    """A shopper's cart: lines, where it ships, and the choices made at checkout.

    Guests prove ownership with a random token; only its SHA-256 is stored.
    ``pricing_market`` is the market whose prices apply: the market of the
    shipping country, once an address is given.
    """

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        ORDERED = "ordered", _("Ordered")

    market = models.ForeignKey(
        "shop.Market", on_delete=models.CASCADE, related_name="+", verbose_name=_("market")
    )
    pricing_market = models.ForeignKey(
        "shop.Market",
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("pricing market"),
        help_text=_("The market whose prices apply: the shipping country's market."),
    )
    language = models.CharField(_("language"), max_length=10)
    customer = models.ForeignKey(
        "shop.Customer",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="carts",
        verbose_name=_("customer"),
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    # Contact and shipping address (checked against the country's rules when set).
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    company = models.CharField(_("company"), max_length=150, blank=True)
    vat_number = models.CharField(_("VAT number"), max_length=40, blank=True)
    line1 = models.CharField(_("address line 1"), max_length=200, blank=True)
    line2 = models.CharField(_("address line 2"), max_length=200, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    district = models.CharField(_("district"), max_length=100, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    region_code = models.CharField(_("region"), max_length=10, blank=True)
    country = models.ForeignKey(
        "shop.Country",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("country"),
    )
    shipping_method_id = models.PositiveIntegerField(_("shipping method"), null=True, blank=True)
    payment_method_code = models.CharField(_("payment method"), max_length=40, blank=True)
    # The last re-pricing into another market, told to the shopper until they order.
    repriced_from = models.ForeignKey(
        "shop.Market",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    repriced_old_total = money_field(_("total before re-pricing"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("cart")
        verbose_name_plural = _("carts")
        indexes = [models.Index(fields=["updated_at"], name="cart_by_update")]

    def __str__(self) -> str:
        return f"#{self.pk}"

    @property
    def has_address(self) -> bool:
        return bool(self.country_id and self.line1)


class CartLine(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey(
        "catalog.Variant", on_delete=models.CASCADE, related_name="+", verbose_name=_("variant")
    )
    quantity = models.PositiveIntegerField(_("quantity"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("cart line")
        verbose_name_plural = _("cart lines")
        ordering = ["cart", "id"]
        constraints = [
            models.UniqueConstraint(fields=["cart", "variant"], name="cart_variant_once"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="cart_line_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.variant_id}"


STOREFRONT_CHANNEL = "storefront"


class OrderStatus(models.TextChoices):
    PENDING_PAYMENT = "pending_payment", _("Pending payment")
    PAID = "paid", _("Paid")
    PARTIALLY_SHIPPED = "partially_shipped", _("Partially shipped")
    SHIPPED = "shipped", _("Shipped")
    DELIVERED = "delivered", _("Delivered")
    CANCELLED = "cancelled", _("Cancelled")


class Order(models.Model):
    """A placed order. Every amount, rate and address is frozen at placement."""

    number = models.CharField(_("number"), max_length=20, unique=True)
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=OrderStatus.choices,
        default=OrderStatus.PENDING_PAYMENT,
    )
    market = models.ForeignKey(
        "shop.Market", on_delete=models.PROTECT, related_name="+", verbose_name=_("market")
    )
    seller = models.ForeignKey(
        "shop.Seller", on_delete=models.PROTECT, related_name="orders", verbose_name=_("seller")
    )
    language = models.CharField(_("language"), max_length=10)
    currency = models.CharField(_("currency"), max_length=3)
    exchange_rate = models.DecimalField(
        _("units per EUR"),
        max_digits=18,
        decimal_places=8,
        null=True,
        blank=True,
        help_text=_(
            "The exchange rate against the euro when the order was placed; "
            "empty when none was known."
        ),
    )
    seller_details = models.JSONField(
        _("seller at placement"),
        default=dict,
        blank=True,
        help_text=_("The seller's legal name, address, tax numbers and bank details as sold."),
    )
    prices_include_tax = models.BooleanField(_("prices shown including tax"))
    customer = models.ForeignKey(
        "shop.Customer",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="orders",
        verbose_name=_("customer"),
    )
    cart = models.OneToOneField(
        Cart, on_delete=models.SET_NULL, null=True, blank=True, related_name="order"
    )
    email = models.EmailField(_("e-mail"))
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    vat_number = models.CharField(_("VAT number"), max_length=40, blank=True)
    tax_notes = models.TextField(_("tax notes"), blank=True)
    reverse_charge = models.BooleanField(_("reverse charge"), default=False)
    export = models.BooleanField(_("export"), default=False)
    # Shipping address
    shipping_first_name = models.CharField(_("first name"), max_length=100)
    shipping_last_name = models.CharField(_("last name"), max_length=100)
    shipping_company = models.CharField(_("company"), max_length=150, blank=True)
    shipping_line1 = models.CharField(_("address line 1"), max_length=200)
    shipping_line2 = models.CharField(_("address line 2"), max_length=200, blank=True)
    shipping_city = models.CharField(_("city"), max_length=100)
    shipping_district = models.CharField(_("district"), max_length=100, blank=True)
    shipping_postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    shipping_region_code = models.CharField(_("region"), max_length=10, blank=True)
    shipping_country = models.CharField(_("country"), max_length=2)
    # Billing address (the shipping address unless given otherwise)
    billing_first_name = models.CharField(_("billing first name"), max_length=100)
    billing_last_name = models.CharField(_("billing last name"), max_length=100)
    billing_company = models.CharField(_("billing company"), max_length=150, blank=True)
    billing_line1 = models.CharField(_("billing address line 1"), max_length=200)
    billing_line2 = models.CharField(_("billing address line 2"), max_length=200, blank=True)
    billing_city = models.CharField(_("billing city"), max_length=100)
    billing_district = models.CharField(_("billing district"), max_length=100, blank=True)
    billing_postal_code = models.CharField(_("billing postal code"), max_length=20, blank=True)
    billing_region_code = models.CharField(_("billing region"), max_length=10, blank=True)
    billing_country = models.CharField(_("billing country"), max_length=2)
    # Shipping
    shipping_method_id = models.PositiveIntegerField(_("shipping method"), null=True, blank=True)
    shipping_method_name = models.CharField(_("shipping method"), max_length=150, blank=True)
    shipping_carrier = models.CharField(_("carrier"), max_length=100, blank=True)
    shipping_net = money_field(_("shipping net"), default=Decimal(0))
    shipping_tax = money_field(_("shipping tax"), default=Decimal(0))
    shipping_gross = money_field(_("shipping gross"), default=Decimal(0))
    shipping_tax_rate = rate_field(_("shipping tax rate (%)"))
    shipping_tax_category = models.CharField(_("shipping tax category"), max_length=2, blank=True)
    # Import duty
    duty_mode = models.CharField(_("duty mode"), max_length=4, default="none")
    duty_amount = money_field(_("duty"), default=Decimal(0))
    duty_notice = models.TextField(_("duty notice"), blank=True)
    # Payment
    payment_method_code = models.CharField(_("payment method"), max_length=40)
    payment_method_name = models.CharField(_("payment method name"), max_length=150, blank=True)
    pays_on_delivery = models.BooleanField(_("paid on delivery"), default=False)
    payment_fee_net = money_field(_("payment fee net"), default=Decimal(0))
    payment_fee_tax = money_field(_("payment fee tax"), default=Decimal(0))
    payment_fee_gross = money_field(_("payment fee gross"), default=Decimal(0))
    payment_fee_tax_rate = rate_field(_("payment fee tax rate (%)"))
    payment_fee_tax_category = models.CharField(
        _("payment fee tax category"), max_length=2, blank=True
    )
    # Totals
    subtotal_net = money_field(_("items net"))
    subtotal_tax = money_field(_("items tax"))
    subtotal_gross = money_field(_("items gross"))
    total_net = money_field(_("total net"))
    total_tax = money_field(_("total tax"))
    total_gross = money_field(_("total"))
    reservation_expires_at = models.DateTimeField(
        _("unpaid reservation expires"), null=True, blank=True
    )
    paid_at = models.DateTimeField(_("paid"), null=True, blank=True)
    channel = models.CharField(
        _("channel"),
        max_length=40,
        default=STOREFRONT_CHANNEL,
        help_text=_("Where the order was placed: the storefront, or a marketplace's code."),
    )
    external_reference = models.CharField(
        _("reference in the channel"),
        max_length=100,
        blank=True,
        help_text=_("The channel's own number for the order (e.g. a marketplace package id)."),
    )
    created_at = models.DateTimeField(_("placed"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "reservation_expires_at"], name="order_expiry"),
            models.Index(fields=["email"], name="order_by_email"),
            # The ERP's order feed pages by (updated_at, id).
            models.Index(fields=["updated_at", "id"], name="order_by_change"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(total_gross__gte=0), name="order_total_not_negative"
            ),
            # A channel's order is imported once, however often or concurrently it is read.
            models.UniqueConstraint(
                fields=["channel", "external_reference"],
                condition=~Q(external_reference=""),
                name="order_external_reference_once_per_channel",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def customer_name(self) -> str:
        return f"{self.shipping_first_name} {self.shipping_last_name}".strip()

    @property
    def seller_as_sold(self) -> dict[str, str]:
        """The seller's details frozen at placement (for orders placed before they were
        frozen: the seller as it is now)."""
        return self.seller_details or seller_details_of(self.seller)


SELLER_DETAIL_FIELDS = (
    "legal_name",
    "line1",
    "line2",
    "postal_code",
    "city",
    "country_id",
    "vat_number",
    "tax_number",
    "tax_office",
    "ioss_number",
    "email",
    "phone",
    "bank_name",
    "iban",
    "bic",
)


def seller_details_of(seller: object) -> dict[str, str]:
    """What an order freezes of its seller: legal name, address, tax numbers, bank."""
    details = {name: str(getattr(seller, name) or "") for name in SELLER_DETAIL_FIELDS}
    details["country"] = details.pop("country_id")
    return details


class OrderLine(models.Model):
    """A line as sold: names, prices, tax and customs data frozen at placement."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey(
        "catalog.Variant", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    sku = models.CharField(_("SKU"), max_length=64)
    name = models.CharField(_("name"), max_length=250)
    quantity = models.PositiveIntegerField(_("quantity"), validators=[MinValueValidator(1)])
    unit_net = money_field(_("unit net"))
    unit_tax = money_field(_("unit tax"))
    unit_gross = money_field(_("unit gross"))
    line_net = money_field(_("net"))
    line_tax = money_field(_("tax"))
    line_gross = money_field(_("gross"))
    tax_rate = rate_field(_("tax rate (%)"))
    tax_category = models.CharField(_("tax category"), max_length=2, blank=True)
    hs_code = models.CharField(_("HS code"), max_length=13, blank=True)
    origin_country = models.CharField(_("country of origin"), max_length=2, blank=True)
    ship_from_pool = models.ForeignKey(
        "pricing.StockPool",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("ships from"),
    )
    ship_from_country = models.CharField(_("ships from country"), max_length=2, blank=True)
    weight_grams = models.PositiveIntegerField(_("weight (g)"), default=0)

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        ordering = ["order", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="order_line_quantity_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.sku}"


class OrderStatusChange(models.Model):
    """One step of an order's life: who moved it, when, from where to where."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(_("from"), max_length=20, blank=True)
    to_status = models.CharField(_("to"), max_length=20)
    by = models.CharField(_("by"), max_length=150)
    at = models.DateTimeField(_("at"), auto_now_add=True)
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("status change")
        verbose_name_plural = _("status changes")
        ordering = ["order", "at", "id"]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.from_status or '∅'} → {self.to_status}"


class StockReservation(models.Model):
    """Units of a line held in a pool until paid (committed) or given back (released).

    A stock level's ``reserved`` equals the sum of its open reservations.
    """

    class State(models.TextChoices):
        OPEN = "open", _("Open")
        COMMITTED = "committed", _("Committed")
        RELEASED = "released", _("Released")

    order_line = models.ForeignKey(OrderLine, on_delete=models.CASCADE, related_name="reservations")
    variant = models.ForeignKey("catalog.Variant", on_delete=models.CASCADE, related_name="+")
    pool = models.ForeignKey("pricing.StockPool", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(_("quantity"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.OPEN)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    class Meta:
        verbose_name = _("stock reservation")
        verbose_name_plural = _("stock reservations")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["variant", "pool", "state"], name="reservation_by_level")]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="reservation_quantity_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.variant_id} @ {self.pool_id} ({self.state})"


class Shipment(models.Model):
    """A parcel: some quantities of an order's lines, sent with a carrier."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="shipments")
    shipping_method_id = models.PositiveIntegerField(_("shipping method"), null=True, blank=True)
    carrier = models.CharField(_("carrier"), max_length=100, blank=True)
    tracking_number = models.CharField(_("tracking number"), max_length=100, blank=True)
    tracking_url = models.URLField(_("tracking link"), max_length=500, blank=True)
    shipped_at = models.DateTimeField(_("shipped"))
    created_by = models.CharField(_("by"), max_length=150, blank=True)

    class Meta:
        verbose_name = _("shipment")
        verbose_name_plural = _("shipments")
        ordering = ["order", "shipped_at", "id"]

    def __str__(self) -> str:
        return f"{self.order_id} {self.tracking_number or self.pk}"


class ShipmentLine(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(
        OrderLine, on_delete=models.CASCADE, related_name="shipment_lines"
    )
    quantity = models.PositiveIntegerField(_("quantity"))

    class Meta:
        verbose_name = _("shipment line")
        verbose_name_plural = _("shipment lines")
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="shipment_line_quantity_positive"
            ),
            models.UniqueConstraint(
                fields=["shipment", "order_line"], name="shipment_line_once_per_shipment"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.order_line_id}"


class OutboxEvent(models.Model):
    """Work an order starts outside the database (e-mails, webhooks), written in its
    transaction and sent later: a broker outage delays it, never loses it."""

    kind = models.CharField(_("kind"), max_length=60)
    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, null=True, blank=True, related_name="events"
    )
    payload = models.JSONField(_("payload"), default=dict)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("outbox event")
        verbose_name_plural = _("outbox events")
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["id"], condition=Q(processed_at__isnull=True), name="outbox_pending"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"
