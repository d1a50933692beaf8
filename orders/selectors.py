"""Reads of carts, orders and reservations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import IntegerField, OuterRef, Prefetch, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from orders.models import (
    Cart,
    Order,
    OrderStatus,
    Shipment,
    ShipmentLine,
    StockReservation,
    token_hash,
)
from orders.quote import cart_quote_at_offer_prices, destination_of
from pricing.models import StockLevel
from shipping.selectors import shipping_options
from shop.selectors import market_with_seller

if TYPE_CHECKING:
    from shipping.selectors import ShippingOption

MAX_ID = 2**63 - 1
SHIPPED_STATUSES = (OrderStatus.PARTIALLY_SHIPPED, OrderStatus.SHIPPED, OrderStatus.DELIVERED)


def cart_for_token(cart_id: int, token: str) -> Cart | None:
    """The cart with this id whose token matches, or None (wrong id or token alike)."""
    if (
        not isinstance(cart_id, int)
        or isinstance(cart_id, bool)
        or not 0 < cart_id <= MAX_ID
        or not isinstance(token, str)
        or not token
        or len(token) > 200
    ):
        return None
    # Not .first(): no ORDER BY for a primary key lookup. The customer (signed-in
    # carts only) is read when asked for.
    cart = next(iter(Cart.objects.filter(pk=cart_id, token_hash=token_hash(token))), None)
    if cart is not None:
        cart_markets_attach(cart)
    return cart


def cart_markets_attach(cart: Cart) -> None:
    """Give the cart its markets and their sellers from memory (shared copies: read
    them, never save them through the cart)."""
    cart.market = market_with_seller(cart.market_id)
    cart.pricing_market = market_with_seller(cart.pricing_market_id)


def cart_line_count(cart: Cart) -> int:
    """Units in the cart (the header's mini-cart)."""
    return int(cart.lines.aggregate(units=Coalesce(Sum("quantity"), 0))["units"])


def cart_shipping_options(*, cart: Cart) -> list[ShippingOption]:
    """The shipping methods that serve the cart's address and contents, cheapest first
    as ``shipping`` orders them; empty without an address."""
    if not cart.has_address:
        return []

    quote = cart_quote_at_offer_prices(cart=cart)
    goods = quote.subtotal.gross if quote.prices_include_tax else quote.subtotal.net
    return shipping_options(
        destination=destination_of(cart),
        currency=cart.pricing_market.currency,
        weight_grams=quote.weight_grams,
        goods_value=goods,
        language=cart.language,
    )


def order_for_number(number: str) -> Order | None:
    """The order with this number (``KRV-2026-000042``, any case), or None."""
    if not isinstance(number, str):
        return None
    clean = number.strip().upper()
    if not clean or len(clean) > 20 or "\x00" in clean:
        return None
    return Order.objects.select_related("market", "seller").filter(number=clean).first()


def order_shipments(order: Order) -> list[Shipment]:
    """The order's parcels, oldest first, each with its lines (two queries in all;
    none for an order that has not shipped)."""
    if order.status not in SHIPPED_STATUSES:
        return []
    return list(
        Shipment.objects.filter(order=order).prefetch_related(
            Prefetch("lines", queryset=ShipmentLine.objects.select_related("order_line"))
        )
    )


def order_reservations(order: Order) -> QuerySet[StockReservation]:
    return StockReservation.objects.filter(order_line__order=order).select_related(
        "pool", "variant", "order_line"
    )


@dataclass(frozen=True)
class StockDrift:
    """A stock level whose ``reserved`` differs from the sum of its open reservations."""

    level_id: int
    variant_id: int
    sku: str
    pool_id: int
    pool_code: str
    quantity: int
    reserved: int
    open_reservations: int

    @property
    def difference(self) -> int:
        return self.reserved - self.open_reservations


def stock_drift() -> list[StockDrift]:
    """Every stock level whose reservations do not add up (one query)."""

    open_sum = (
        StockReservation.objects.filter(
            state=StockReservation.State.OPEN,
            variant_id=OuterRef("variant_id"),
            pool_id=OuterRef("pool_id"),
        )
        .order_by()
        .values("variant_id", "pool_id")
        .annotate(total=Sum("quantity"))
        .values("total")
    )
    levels = (
        StockLevel.objects.annotate(
            open_total=Coalesce(Subquery(open_sum, output_field=IntegerField()), Value(0))
        )
        .exclude(reserved=Coalesce(Subquery(open_sum, output_field=IntegerField()), Value(0)))
        .order_by("pk")
        .values_list(
            "pk",
            "variant_id",
            "variant__sku",
            "pool_id",
            "pool__code",
            "quantity",
            "reserved",
            "open_total",
        )
    )
    drifts = [StockDrift(*row) for row in levels]
    missing = _reservations_without_level()
    return drifts + missing


def _reservations_without_level() -> list[StockDrift]:
    """Open reservations on a (variant, pool) that has no stock level row at all."""

    rows = list(
        StockReservation.objects.filter(state=StockReservation.State.OPEN)
        .values("variant_id", "variant__sku", "pool_id", "pool__code")
        .annotate(total=Sum("quantity"))
        .order_by("variant_id", "pool_id")
    )
    existing = set(
        StockLevel.objects.filter(variant_id__in={row["variant_id"] for row in rows}).values_list(
            "variant_id", "pool_id"
        )
    )
    return [
        StockDrift(
            level_id=0,
            variant_id=row["variant_id"],
            sku=row["variant__sku"],
            pool_id=row["pool_id"],
            pool_code=row["pool__code"],
            quantity=0,
            reserved=0,
            open_reservations=row["total"],
        )
        for row in rows
        if (row["variant_id"], row["pool_id"]) not in existing
    ]
