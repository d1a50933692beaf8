"""Admin for carts, stock reservations and the outbox (orders are shown by ``payments``,
whose order page includes the payments)."""

from __future__ import annotations

from django.contrib import admin

from orders.models import Cart, OutboxEvent, StockReservation
from shop.admin_mixins import ReadOnlyAdmin


@admin.register(StockReservation)
class StockReservationAdmin(ReadOnlyAdmin):
    list_display = ("id", "order_number", "variant", "pool", "quantity", "state", "expires_at")
    list_filter = ("state", "pool")
    search_fields = ("order_line__order__number", "variant__sku")
    list_select_related = ("order_line__order", "variant", "pool")

    @admin.display(description="order")
    def order_number(self, reservation: StockReservation) -> str:
        return reservation.order_line.order.number


@admin.register(OutboxEvent)
class OutboxEventAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "order", "created_at", "processed_at", "attempts")
    list_filter = ("kind", ("processed_at", admin.EmptyFieldListFilter))
    search_fields = ("order__number",)
    list_select_related = ("order",)


@admin.register(Cart)
class CartAdmin(ReadOnlyAdmin):
    list_display = ("id", "market", "pricing_market", "status", "email", "country", "updated_at")
    list_filter = ("status", "market", "pricing_market")
    search_fields = ("email", "last_name")
    exclude = ("token_hash",)
