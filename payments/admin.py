"""Admin for payment methods, and the order pages (with their payments)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from orders.errors import OrderError
from orders.models import Order, OrderLine, OrderStatusChange, Shipment
from orders.services import order_remaining_to_ship, shipment_create
from payments.models import Payment, PaymentMethod
from payments.selectors import payment_methods_changed
from payments.services import PaymentError, order_payment_cancel, payment_confirm_received
from pricing.money import quantize
from shop.admin_mixins import RetiresCachesAdmin


@admin.register(PaymentMethod)
class PaymentMethodAdmin(RetiresCachesAdmin):
    def caches_retire(self, objects: Sequence[Any]) -> None:
        payment_methods_changed()

    list_display = (
        "code",
        "gateway",
        "fee_fixed",
        "fee_percent",
        "reservation_minutes",
        "is_active",
    )
    list_filter = ("gateway", "is_active", "markets")
    filter_horizontal = ("markets",)
    search_fields = ("code",)


class ReadOnlyInline(admin.TabularInline):  # type: ignore[type-arg]
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = (
        "sku",
        "name",
        "quantity",
        "unit_gross",
        "line_net",
        "line_tax",
        "line_gross",
        "tax_rate",
        "tax_category",
        "hs_code",
        "origin_country",
        "ship_from_pool",
    )


class PaymentInline(ReadOnlyInline):
    model = Payment
    fields = ("method", "amount", "currency", "status", "reference", "created_at")
    readonly_fields = ("created_at",)


class ShipmentInline(ReadOnlyInline):
    model = Shipment
    fields = ("shipped_at", "carrier", "tracking_number", "tracking_link", "contents")
    readonly_fields = ("tracking_link", "contents")

    @admin.display(description=_("tracking"))
    def tracking_link(self, shipment: Shipment) -> str:
        if not shipment.tracking_url:
            return shipment.tracking_number
        return format_html('<a href="{}">{}</a>', shipment.tracking_url, shipment.tracking_number)

    @admin.display(description=_("contents"))
    def contents(self, shipment: Shipment) -> str:
        return ", ".join(
            f"{line.quantity} × {line.order_line.sku}"
            for line in shipment.lines.select_related("order_line")
        )


class StatusChangeInline(ReadOnlyInline):
    model = OrderStatusChange
    fields = ("at", "from_status", "to_status", "by", "note")
    readonly_fields = ("at",)


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = (
        "number",
        "created_at",
        "status",
        "market",
        "shipping_country",
        "customer_name",
        "email",
        "total",
        "payment_method_name",
    )
    list_filter = (
        "status",
        "market",
        "shipping_country",
        "payment_method_code",
        ("created_at", admin.DateFieldListFilter),
    )
    search_fields = (
        "number",
        "email",
        "shipping_last_name",
        "shipping_first_name",
        "billing_last_name",
    )
    list_select_related = ("market",)
    date_hierarchy = "created_at"
    inlines = (OrderLineInline, PaymentInline, ShipmentInline, StatusChangeInline)
    actions = ("confirm_payment", "cancel_orders")
    readonly_fields = ("ship_link",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        names = [field.name for field in Order._meta.fields]
        return ["ship_link", *names]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description=_("total"), ordering="total_gross")
    def total(self, order: Order) -> str:
        return f"{quantize(order.total_gross, order.currency)} {order.currency}"

    @admin.display(description=_("customer"))
    def customer_name(self, order: Order) -> str:
        return order.customer_name

    @admin.display(description=_("ship"))
    def ship_link(self, order: Order) -> str:
        if order.pk is None:
            return ""
        url = reverse("admin:payments_order_ship", args=[order.pk])
        return format_html('<a class="button" href="{}">{}</a>', url, gettext("Create a shipment"))

    @admin.action(description=_("Confirm payment received"))
    def confirm_payment(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        done = 0
        for order in queryset.order_by("pk"):
            try:
                payment_confirm_received(order=order, by=request.user.get_username())
                done += 1
            except PaymentError as error:
                self.message_user(request, f"{order.number}: {error.message}", messages.ERROR)
        if done:
            self.message_user(
                request,
                ngettext("%d order marked paid.", "%d orders marked paid.", done) % done,
                messages.SUCCESS,
            )

    @admin.action(description=_("Cancel orders (stock goes back)"))
    def cancel_orders(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        done = 0
        for order in queryset.order_by("pk"):
            try:
                order_payment_cancel(order=order, by=request.user.get_username())
                done += 1
            except PaymentError as error:
                self.message_user(request, f"{order.number}: {error.message}", messages.ERROR)
        if done:
            self.message_user(
                request,
                ngettext("%d order cancelled.", "%d orders cancelled.", done) % done,
                messages.SUCCESS,
            )

    def get_urls(self) -> list[URLPattern]:
        ship = path(
            "<int:order_id>/ship/",
            self.admin_site.admin_view(self.ship_view),
            name="payments_order_ship",
        )
        return [ship, *super().get_urls()]

    def ship_view(self, request: HttpRequest, order_id: int) -> HttpResponse:
        """Create a (partial) shipment: quantities per line, carrier and tracking number."""
        if not self.has_view_permission(request):
            return HttpResponseRedirect(reverse("admin:index"))
        if not self.has_change_permission(request):  # shipping moves stock and the status
            raise PermissionDenied
        order = get_object_or_404(Order, pk=order_id)
        remaining = order_remaining_to_ship(order)
        lines = list(order.lines.filter(pk__in=[k for k, v in remaining.items() if v > 0]))
        form = ShipmentForm(request.POST or None, lines=lines, remaining=remaining, order=order)
        if request.method == "POST" and form.is_valid():
            try:
                shipment_create(
                    order=order,
                    lines=form.quantities(),
                    method_id=form.cleaned_data["method_id"],
                    tracking_number=form.cleaned_data["tracking_number"],
                    carrier=form.cleaned_data["carrier"],
                    by=request.user.get_username(),
                )
            except OrderError as error:
                form.add_error(None, error.message)
            else:
                self.message_user(request, gettext("Shipment created."), messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:orders_order_change", args=[order.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Ship order %(number)s") % {"number": order.number},
            "order": order,
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/payments/order_ship.html", context)


class ShipmentForm(forms.Form):
    method_id = forms.IntegerField(
        label=_("shipping method id"), required=False, min_value=1, max_value=2**31 - 1
    )
    carrier = forms.CharField(label=_("carrier"), max_length=100, required=False)
    tracking_number = forms.CharField(label=_("tracking number"), max_length=100, required=False)

    def __init__(
        self,
        data: Any,
        *,
        lines: list[OrderLine],
        remaining: dict[int, int],
        order: Order,
    ) -> None:
        super().__init__(
            data,
            initial={"method_id": order.shipping_method_id, "carrier": order.shipping_carrier},
        )
        self.line_fields = []
        for line in lines:
            name = f"line_{line.pk}"
            self.fields[name] = forms.IntegerField(
                label=f"{line.sku} – {line.name}",
                min_value=0,
                max_value=remaining[line.pk],
                initial=remaining[line.pk],
                required=False,
            )
            self.line_fields.append((name, line.pk))

    def quantities(self) -> dict[int, int]:
        return {line_id: self.cleaned_data[name] or 0 for name, line_id in self.line_fields}
