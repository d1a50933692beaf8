"""Admin: marketplace accounts (credentials, market, price adjustment, mappings),
listings, and the sync's log (batches, rejections, order imports)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from integrations.marketplaces.models import (
    AttributeMapping,
    CategoryMapping,
    Listing,
    Marketplace,
    OrderImport,
    SyncBatch,
    SyncRejection,
)
from integrations.marketplaces.services import listings_queue, marketplace_resync_note
from integrations.marketplaces.tasks import listings_publish
from shop.admin_mixins import ReadOnlyAdmin


class MarketplaceForm(forms.ModelForm):  # type: ignore[type-arg]
    """The API secret is never shown back; left empty, the stored one is kept."""

    base_url = forms.URLField(
        label=_("API address"),
        required=False,
        assume_scheme="https",
        help_text=_("Empty: the adapter's production address."),
    )
    api_secret = forms.CharField(
        label=_("API secret"),
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Leave empty to keep the stored secret."),
    )

    class Meta:
        model = Marketplace
        fields = [
            "name",
            "code",
            "adapter",
            "is_active",
            "seller_id",
            "api_key",
            "api_secret",
            "base_url",
            "market",
            "price_adjustment_percent",
            "requests_per_second",
            "request_burst",
        ]

    def clean_api_secret(self) -> str:
        secret: str = self.cleaned_data.get("api_secret") or ""
        if not secret and self.instance.pk is not None:
            return self.instance.api_secret
        return secret


class CategoryMappingInline(admin.TabularInline):  # type: ignore[type-arg]
    model = CategoryMapping
    extra = 0
    autocomplete_fields = ["category"]


class AttributeMappingInline(admin.TabularInline):  # type: ignore[type-arg]
    model = AttributeMapping
    extra = 0


@admin.register(Marketplace)
class MarketplaceAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = MarketplaceForm
    list_display = (
        "name",
        "code",
        "adapter",
        "market",
        "price_adjustment_percent",
        "is_active",
        "orders_read_until",
    )
    list_filter = ("adapter", "is_active", "market")
    list_select_related = ("market",)
    readonly_fields = ("orders_read_until", "created_at", "updated_at")
    prepopulated_fields = {"code": ["name"]}
    inlines = (CategoryMappingInline, AttributeMappingInline)
    actions = ("resync", "publish_pending")
    fieldsets = (
        (None, {"fields": ("name", "code", "adapter", "is_active")}),
        (_("Account"), {"fields": ("seller_id", "api_key", "api_secret", "base_url")}),
        (
            _("What is sent"),
            {"fields": ("market", "price_adjustment_percent")},
        ),
        (_("Request budget"), {"fields": ("requests_per_second", "request_burst")}),
        (_("History"), {"fields": ("orders_read_until", "created_at", "updated_at")}),
    )

    def save_model(self, request: HttpRequest, obj: Marketplace, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        # What the listings should show may have changed: compare them all again.
        if {"market", "price_adjustment_percent", "is_active"} & set(form.changed_data):
            marketplace_resync_note(marketplace=obj)

    @admin.action(description=_("Compare every listing again (send what differs)"))
    def resync(self, request: HttpRequest, queryset: QuerySet[Marketplace]) -> None:
        count = sum(marketplace_resync_note(marketplace=marketplace) for marketplace in queryset)
        self.message_user(
            request,
            ngettext(
                "%(count)d product queued for the next sync.",
                "%(count)d products queued for the next sync.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )

    @admin.action(description=_("Create all pending listings on the marketplace"))
    def publish_pending(self, request: HttpRequest, queryset: QuerySet[Marketplace]) -> None:
        names = []
        for marketplace in queryset.order_by("pk"):
            if not marketplace.is_active:
                self.message_user(
                    request,
                    _("%(marketplace)s is not active: nothing was queued for it.")
                    % {"marketplace": marketplace.name},
                    messages.WARNING,
                )
                continue
            listings_publish.delay(marketplace.pk)
            names.append(marketplace.name)
        if names:
            self.message_user(
                request,
                _(
                    "Creating every listing not yet on %(marketplaces)s in the background; "
                    "the sync batches and rejections show the results."
                )
                % {"marketplaces": ", ".join(names)},
                messages.SUCCESS,
            )


def _listings_publish_queue(
    model_admin: admin.ModelAdmin,  # type: ignore[type-arg]
    request: HttpRequest,
    queryset: QuerySet[Listing],
    *,
    update: bool,
) -> None:
    """One background task per marketplace of the chosen listings (active ones only)."""
    by_marketplace: dict[Marketplace, list[int]] = {}
    for listing in queryset.select_related("marketplace").order_by("pk"):
        by_marketplace.setdefault(listing.marketplace, []).append(listing.pk)
    queued = 0
    for marketplace, listing_ids in by_marketplace.items():
        if not marketplace.is_active:
            model_admin.message_user(
                request,
                _("%(marketplace)s is not active: its listings were not queued.")
                % {"marketplace": marketplace.name},
                messages.WARNING,
            )
            continue
        listings_publish.delay(marketplace.pk, listing_ids, update)
        queued += len(listing_ids)
    if queued:
        message = (
            ngettext(
                "%(count)d listing queued for updating on the marketplace.",
                "%(count)d listings queued for updating on the marketplace.",
                queued,
            )
            if update
            else ngettext(
                "%(count)d listing queued for creation on the marketplace.",
                "%(count)d listings queued for creation on the marketplace.",
                queued,
            )
        )
        model_admin.message_user(
            request,
            message % {"count": queued}
            + " "
            + str(_("The sync batches and rejections show the results.")),
            messages.SUCCESS,
        )


@admin.register(Listing)
class ListingAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = (
        "barcode",
        "variant",
        "marketplace",
        "is_active",
        "state",
        "last_sent_price",
        "last_sent_list_price",
        "last_sent_quantity",
        "last_sent_at",
        "listed_at",
        "last_error",
    )
    list_filter = ("marketplace", "state", "is_active")
    actions = ("create_on_marketplace", "update_on_marketplace")
    search_fields = ("barcode", "variant__sku")
    list_select_related = ("marketplace", "variant")
    autocomplete_fields = ("variant",)
    readonly_fields = (
        "state",
        "last_sent_price",
        "last_sent_list_price",
        "last_sent_quantity",
        "last_sent_at",
        "listed_at",
        "last_error",
    )

    @admin.action(description=_("Create on the marketplace"))
    def create_on_marketplace(self, request: HttpRequest, queryset: QuerySet[Listing]) -> None:
        _listings_publish_queue(self, request, queryset, update=False)

    @admin.action(description=_("Update on the marketplace"))
    def update_on_marketplace(self, request: HttpRequest, queryset: QuerySet[Listing]) -> None:
        _listings_publish_queue(self, request, queryset, update=True)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        locked = ["marketplace", "variant"] if obj is not None else []
        return [*locked, *self.readonly_fields]

    def save_model(self, request: HttpRequest, obj: Listing, form: Any, change: bool) -> None:
        if "barcode" in form.changed_data:  # the marketplace knows nothing under the new one
            obj.last_sent_price = obj.last_sent_list_price = obj.last_sent_quantity = None
        super().save_model(request, obj, form, change)
        # A new or changed listing (barcode, listed or not) is compared with the next run.
        listings_queue(marketplace=obj.marketplace, variant_ids=[obj.variant_id])


@admin.register(SyncBatch)
class SyncBatchAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "marketplace",
        "kind",
        "state",
        "item_count",
        "failed_count",
        "attempts",
        "remote_id",
        "created_at",
        "sent_at",
        "completed_at",
        "next_attempt_at",
    )
    list_filter = ("marketplace", "kind", "state")
    search_fields = ("remote_id",)
    list_select_related = ("marketplace",)


@admin.register(SyncRejection)
class SyncRejectionAdmin(ReadOnlyAdmin):
    """The sync log: every item a marketplace refused, or the shop could not send
    (no batch), with its reason."""

    list_display = ("created_at", "marketplace", "barcode", "reason", "batch")
    list_filter = ("marketplace",)
    search_fields = ("barcode", "reason")
    list_select_related = ("marketplace", "batch")


@admin.register(OrderImport)
class OrderImportAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "marketplace",
        "external_id",
        "order_number",
        "state",
        "order",
        "acknowledged",
        "attempts",
        "reason",
    )
    list_filter = ("marketplace", "state", "acknowledged")
    search_fields = ("external_id", "order_number", "order__number")
    list_select_related = ("marketplace", "order")
