"""Admin for payment methods, and the order pages (with their payments)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from orders.errors import OrderError
from orders.models import Order, OrderLine, OrderStatusChange, Shipment
from orders.services import order_remaining_to_ship, shipment_create
from payments.models import (
    GatewayEvent,
    Payment,
    PaymentMethod,
    PaymentTransaction,
    StripeAccount,
)
from payments.refunds import OrderBalance, RefundRequest, order_balance, order_refund
from payments.selectors import payment_methods_changed
from payments.services import PaymentError, order_payment_cancel, payment_confirm_received
from pricing.money import quantize
from shop.admin_mixins import ReadOnlyAdmin, ReadOnlyInline, RetiresCachesAdmin


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


class StripeAccountForm(forms.ModelForm):  # type: ignore[type-arg]
    """Secrets are written, never shown: a blank field keeps the saved value."""

    secret_key = forms.CharField(
        label=_("secret key"),
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("sk_live_… or sk_test_…; leave blank to keep the saved key."),
    )
    webhook_secret = forms.CharField(
        label=_("webhook signing secret"),
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=StripeAccount._meta.get_field("webhook_secret").help_text,
    )

    class Meta:
        model = StripeAccount
        fields = ("seller", "publishable_key", "secret_key", "webhook_secret", "is_active")

    def clean_secret_key(self) -> str:
        value = str(self.cleaned_data.get("secret_key") or "").strip()
        if not value:
            if not self.instance.secret_key:
                raise forms.ValidationError(gettext("Enter the secret key."))
            return self.instance.secret_key
        return value

    def clean_webhook_secret(self) -> str:
        value = str(self.cleaned_data.get("webhook_secret") or "").strip()
        return value or self.instance.webhook_secret

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        publishable, secret = data.get("publishable_key", ""), data.get("secret_key", "")
        if publishable and secret and ("_live_" in publishable) != ("_live_" in secret):
            raise forms.ValidationError(
                gettext(
                    "The publishable and the secret key must both be live or both be test keys."
                )
            )
        return data


@admin.register(StripeAccount)
class StripeAccountAdmin(RetiresCachesAdmin):
    form = StripeAccountForm
    list_display = (
        "seller",
        "__str__",
        "publishable_key",
        "secret_set",
        "webhook_set",
        "is_active",
    )

    def caches_retire(self, objects: Sequence[Any]) -> None:
        payment_methods_changed()

    @admin.display(boolean=True, description=_("secret key set"))
    def secret_set(self, account: StripeAccount) -> bool:
        return bool(account.secret_key)

    @admin.display(boolean=True, description=_("webhook secret set"))
    def webhook_set(self, account: StripeAccount) -> bool:
        return bool(account.webhook_secret)


@admin.register(GatewayEvent)
class GatewayEventAdmin(ReadOnlyAdmin):
    """What payment providers told the shop, and what it did: for support."""

    list_display = ("received_at", "gateway", "kind", "event_id", "outcome", "payment")
    list_filter = ("gateway", "kind")
    search_fields = ("event_id", "payment__provider_id", "payment__order__number")
    list_select_related = ("payment",)


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
    fields = ("method", "amount", "currency", "status", "reference", "provider_id", "created_at")
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
        "channel",
        "market",
        "shipping_country",
        "customer_name",
        "email",
        "total",
        "payment_method_name",
    )
    list_filter = (
        "status",
        "channel",
        "market",
        "shipping_country",
        "payment_method_code",
        ("created_at", admin.DateFieldListFilter),
    )
    search_fields = (
        "number",
        "external_reference",
        "email",
        "shipping_last_name",
        "shipping_first_name",
        "billing_last_name",
    )
    list_select_related = ("market",)
    date_hierarchy = "created_at"
    inlines = (OrderLineInline, PaymentInline, ShipmentInline, StatusChangeInline)
    actions = ("confirm_payment", "cancel_orders")
    readonly_fields = ("ship_link", "money_balance", "payment_history")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        names = [field.name for field in Order._meta.fields]
        return ["ship_link", "money_balance", "payment_history", *names]

    @admin.display(description=_("payment history"))
    def payment_history(self, order: Order) -> str:
        """Every step of the order's payments: starts, failed attempts, captures,
        refunds, disputes, with what the provider said."""
        steps = PaymentTransaction.objects.filter(payment__order=order).order_by("created_at", "pk")
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    step.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                    step.get_kind_display(),
                    step.amount,
                    "✓" if step.is_success else "✗",
                    step.reference,
                    step.data.get("note") or step.data.get("message") or step.by,
                )
                for step in steps
            ),
        )
        if not rows:
            return gettext("No payment steps yet.")
        return format_html("<table>{}</table>", rows)

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
        ship = reverse("admin:payments_order_ship", args=[order.pk])
        refund = reverse("admin:payments_order_refund", args=[order.pk])
        # Invoicing's pages, by URL name (invoicing sits beside payments, not below it)
        invoices = f"{reverse('admin:invoicing_invoice_changelist')}?q={order.number}"
        issue = f"{reverse('admin:invoicing_invoice_issue')}?order={order.number}"
        return format_html(
            '<a class="button" href="{}">{}</a> <a class="button" href="{}">{}</a> '
            '<a class="button" href="{}">{}</a> <a class="button" href="{}">{}</a>',
            ship,
            gettext("Create a shipment"),
            refund,
            gettext("Refund"),
            invoices,
            gettext("Invoices"),
            issue,
            gettext("Issue an invoice or a proforma"),
        )

    @admin.display(description=_("balance"))
    def money_balance(self, order: Order) -> str:
        """Total, paid, refunded, kept and due, in the order's currency."""
        if order.pk is None:
            return ""
        balance = order_balance(order)
        return format_html(
            "{}: {} · {}: {} · {}: {} · {}: {} · {}: {} {}",
            gettext("total"),
            balance.total,
            gettext("paid"),
            balance.paid,
            gettext("refunded"),
            balance.refunded,
            gettext("balance"),
            balance.balance,
            gettext("due"),
            balance.due,
            order.currency,
        )

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
        refund = path(
            "<int:order_id>/refund/",
            self.admin_site.admin_view(self.refund_view),
            name="payments_order_refund",
        )
        return [ship, refund, *super().get_urls()]

    def refund_view(self, request: HttpRequest, order_id: int) -> HttpResponse:
        """Refund units (optionally back to stock), the shipping or an amount."""
        if not self.has_view_permission(request):
            return HttpResponseRedirect(reverse("admin:index"))
        if not self.has_change_permission(request):  # refunds move money and stock
            raise PermissionDenied
        order = get_object_or_404(Order, pk=order_id)
        balance = order_balance(order)
        form = RefundForm(request.POST or None, order=order, balance=balance)
        if request.method == "POST" and form.is_valid():
            try:
                refund = order_refund(
                    order=order,
                    request=form.refund_request(),
                    key=form.cleaned_data["key"],
                    by=request.user.get_username(),
                )
            except PaymentError as error:
                form.add_error(None, error.message)
            else:
                self.message_user(
                    request,
                    gettext("Refunded %(amount)s %(currency)s (%(status)s).")
                    % {
                        "amount": quantize(refund.amount, refund.currency),
                        "currency": refund.currency,
                        "status": refund.get_status_display(),
                    },
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:orders_order_change", args=[order.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Refund order %(number)s") % {"number": order.number},
            "order": order,
            "balance": balance,
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/payments/order_refund.html", context)

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


class RefundForm(forms.Form):
    """Units per line, the shipping and an amount; the hidden key makes a second
    submission of the same form return the first refund."""

    shipping = forms.BooleanField(label=_("refund the shipping"), required=False)
    amount = forms.DecimalField(
        label=_("an amount besides"),
        min_value=0,
        max_digits=12,
        decimal_places=2,
        required=False,
        help_text=_("E.g. a goodwill gesture, in the order's currency."),
    )
    restock = forms.BooleanField(
        label=_("put the refunded units back in stock"),
        required=False,
        help_text=_("Only for units that came back and can be sold again."),
    )
    reference = forms.CharField(
        label=_("reference"),
        max_length=100,
        required=False,
        help_text=_("Needed when the money goes back by hand (bank transfer, cash on delivery)."),
    )
    note = forms.CharField(label=_("note"), max_length=500, required=False)
    key = forms.CharField(widget=forms.HiddenInput, max_length=100)

    def __init__(self, data: Any, *, order: Order, balance: OrderBalance) -> None:
        super().__init__(data, initial={"key": uuid.uuid4().hex})
        self.line_fields = []
        for line in order.lines.all():
            left = line.quantity - balance.refunded_units.get(line.pk, 0)
            name = f"line_{line.pk}"
            self.fields[name] = forms.IntegerField(
                label=f"{line.sku} – {line.name} ({quantize(line.unit_gross, order.currency)} "
                f"{order.currency})",
                min_value=0,
                max_value=left,
                initial=0,
                required=False,
                disabled=left == 0,
                help_text=gettext("%(left)s of %(sold)s units not refunded")
                % {"left": left, "sold": line.quantity},
            )
            self.line_fields.append((name, line.pk))
        self.order_fields([name for name, _line in self.line_fields])

    def refund_request(self) -> RefundRequest:
        data = self.cleaned_data
        return RefundRequest(
            lines={line_id: data.get(name) or 0 for name, line_id in self.line_fields},
            shipping=bool(data["shipping"]),
            amount=data["amount"] or Decimal(0),
            restock=bool(data["restock"]),
            reference=data["reference"],
            note=data["note"],
        )
