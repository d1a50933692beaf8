"""Admin for price lists, prices, exchange rates, tax and stock, and dealer applications.

Also the catalogue's product and variant pages with their prices and stock:
``PricedProductAdmin`` and ``PricedVariantAdmin`` extend the catalogue's admin
classes and take over their registration.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db.models import Count, F, OuterRef, Prefetch, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Greatest
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.safestring import SafeString
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from catalog.admin import ProductAdmin, SharedChoicesFormSet, TaxClassAdmin, VariantAdmin
from catalog.models import Product, TaxClass, Variant
from pricing.dealers import (
    DealerApplicationError,
    dealer_application_approve,
    dealer_application_reject,
)
from pricing.derivation import RebuildReport, price_list_rebuild
from pricing.models import (
    ExchangeRate,
    MarketPriceList,
    MarketStockPool,
    PriceEntry,
    PriceList,
    StockLevel,
    StockPool,
    TaxRate,
    currency_locked_message,
    validate_price_positive,
)
from pricing.money import quantize
from pricing.rates import BASE_CURRENCY, exchange_rates_changed
from pricing.selectors import pricing_config_changed
from pricing.services import (
    derived_follow,
    price_lists_changed,
    price_unset,
    stock_changed,
    stock_levels_add,
    stock_levels_zero,
)
from pricing.tax import missing_tax_rates
from shop.admin_mixins import RetiresCachesAdmin
from shop.models import DealerApplication

PRICE_FIELDS = ("amount", "compare_at_amount", "sale_amount", "sale_starts_at", "sale_ends_at")
UNITS_ADDED_BY_ACTION = 10


def rebuild_reports_walk(reports: Iterable[RebuildReport]) -> Iterator[RebuildReport]:
    """Every report with the reports of the lists that followed it."""
    for report in reports:
        yield report
        yield from rebuild_reports_walk(report.followers)


def rebuild_problems_tell(request: HttpRequest, reports: Iterable[RebuildReport]) -> None:
    """A warning for each derived list that could not be recomputed."""
    for report in rebuild_reports_walk(reports):
        if report.problem:
            messages.warning(
                request,
                gettext("Prices of the list %(list)s were not recomputed: %(problem)s.")
                % {"list": report.price_list, "problem": report.problem},
            )


def upper_currency_code(form: forms.ModelForm) -> str:  # type: ignore[type-arg]
    return str(form.cleaned_data["currency"]).strip().upper()


class PricingConfigAdmin(RetiresCachesAdmin):
    """Changes here alter what markets price with: tax tables, lists, pools."""

    def caches_retire(self, objects: Sequence[Any]) -> None:
        pricing_config_changed()


# Tax


def tax_rates_missing_tell(request: HttpRequest) -> None:
    """A warning listing the countries and tax classes where a sale would stop."""
    missing = missing_tax_rates()
    if not missing:
        return
    pairs = ", ".join(f"{gap.tax_class} ({gap.country})" for gap in missing)
    messages.warning(
        request,
        ngettext(
            "%(count)d tax rate is missing, so checkout refuses these sales: %(pairs)s. "
            "Add the rate on the tax class's page.",
            "%(count)d tax rates are missing, so checkout refuses these sales: %(pairs)s. "
            "Add the rates on the tax classes' pages.",
            len(missing),
        )
        % {"count": len(missing), "pairs": pairs},
    )


class TaxRateInline(admin.TabularInline):
    model = TaxRate
    extra = 1
    fields = ["country", "region", "rate", "valid_from", "valid_to"]
    autocomplete_fields = ["country", "region"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[TaxRate]:
        return super().get_queryset(request).select_related("country", "region")


class TaxClassWithRatesAdmin(TaxClassAdmin):
    """The catalogue's tax class page with the class's rates per country."""

    list_display = [*TaxClassAdmin.list_display, "rate_count"]
    inlines = [TaxRateInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[TaxClass]:
        return super().get_queryset(request).annotate(rate_count=Count("rates"))

    @admin.display(description=_("rates"), ordering="rate_count")
    def rate_count(self, tax_class: TaxClass) -> int:
        return getattr(tax_class, "rate_count", 0)

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        if request.method == "GET":
            tax_rates_missing_tell(request)
        return super().changelist_view(request, extra_context)

    def caches_retire(self, objects: Sequence[Any]) -> None:
        super().caches_retire(objects)
        pricing_config_changed()


@admin.register(TaxRate)
class TaxRateAdmin(PricingConfigAdmin):
    list_display = ["tax_class", "country", "region", "rate", "valid_from", "valid_to"]
    list_filter = [("country", admin.RelatedOnlyFieldListFilter), "tax_class"]
    search_fields = ["country__name", "country__code", "region__name", "region__code"]
    list_select_related = ["tax_class", "country", "region"]
    autocomplete_fields = ["country", "region"]
    date_hierarchy = "valid_from"

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        if request.method == "GET":
            tax_rates_missing_tell(request)
        return super().changelist_view(request, extra_context)


# Price lists and prices


class PriceListForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = PriceList
        fields = [
            "code",
            "name",
            "currency",
            "includes_tax",
            "tax_country",
            "source",
            "adjustment_percent",
            "adjustment_amount",
            "rounding",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        price_list: PriceList = self.instance
        if "currency" in self.fields and price_list.pk is not None and price_list.has_prices():
            # Every amount of the list is in this currency; another one would
            # silently reinterpret them (the database refuses it as well).
            self.fields["currency"].disabled = True
            self.fields["currency"].help_text = currency_locked_message(price_list.currency)

    def clean_currency(self) -> str:
        return upper_currency_code(self)


@admin.register(PriceList)
class PriceListAdmin(PricingConfigAdmin):
    def caches_retire(self, objects: Sequence[Any]) -> None:
        super().caches_retire(objects)
        price_lists_changed(price_list.pk for price_list in objects)

    form = PriceListForm
    list_display = [*PriceListForm.Meta.fields, "entry_count", "updated_at"]
    list_filter = ["currency", "includes_tax", ("source", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["code", "name"]
    list_select_related = ["tax_country", "source"]
    autocomplete_fields = ["tax_country"]
    readonly_fields = ["entry_count", "updated_at"]
    fieldsets = [
        (None, {"fields": ["code", "name", "currency"]}),
        (_("Tax"), {"fields": ["includes_tax", "tax_country"]}),
        (
            _("Derived prices"),
            {
                "fields": ["source", "adjustment_percent", "adjustment_amount", "rounding"],
                "description": _(
                    "Leave “derived from” empty for a list whose prices you type yourself. "
                    "A derived list computes its prices from the other list's: net price, "
                    "adjusted, converted at the latest exchange rate, taxed, then rounded."
                ),
            },
        ),
        (_("Prices"), {"fields": ["entry_count", "updated_at"]}),
    ]
    actions = ["recompute_derived_prices"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[PriceList]:
        return super().get_queryset(request).annotate(entry_count=Count("entries"))

    @admin.display(description=_("prices"), ordering="entry_count")
    def entry_count(self, price_list: PriceList) -> int:
        return getattr(price_list, "entry_count", 0)

    def save_model(self, request: HttpRequest, obj: PriceList, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        rule_fields = {"source", "adjustment_percent", "adjustment_amount", "rounding"}
        rule_fields |= {"includes_tax", "tax_country", "currency"}
        if obj.is_derived and rule_fields & set(form.changed_data):
            self.message_user(
                request,
                gettext(
                    "The rule of %(list)s changed. Its prices change when you run "
                    "“Recompute derived prices” on it."
                )
                % {"list": obj},
                messages.INFO,
            )

    @admin.action(description=_("Recompute derived prices"))
    def recompute_derived_prices(self, request: HttpRequest, queryset: QuerySet[PriceList]) -> None:
        for price_list in queryset.select_related("source").order_by("code"):
            if price_list.is_derived:
                reports = [price_list_rebuild(price_list)]
            else:
                reports = derived_follow(price_list)
                if not reports:
                    self.message_user(
                        request,
                        gettext("No price list is derived from %(list)s: nothing to recompute.")
                        % {"list": price_list},
                        messages.WARNING,
                    )
                    continue
            updated = sum(report.total_updated for report in reports)
            has_problems = any(report.problem for report in rebuild_reports_walk(reports))
            if updated or not has_problems:
                self.message_user(
                    request,
                    ngettext(
                        "%(list)s: %(count)d price recomputed.",
                        "%(list)s: %(count)d prices recomputed.",
                        updated,
                    )
                    % {"list": price_list, "count": updated},
                    messages.SUCCESS,
                )
            rebuild_problems_tell(request, reports)


class PriceEntryForm(forms.ModelForm):  # type: ignore[type-arg]
    """A price typed here is the merchant's: on a derived list it overrides the rule.

    Unticking “set by hand” on a derived list, without typing a price, hands
    the price back to the rule.
    """

    class Meta:
        model = PriceEntry
        fields = ["price_list", *PRICE_FIELDS, "is_manual"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("amount", "compare_at_amount", "sale_amount"):
            self.fields[name].validators.append(validate_price_positive)

    def clean(self) -> dict[str, Any]:
        cleaned_data = super().clean() or {}
        starts, ends = cleaned_data.get("sale_starts_at"), cleaned_data.get("sale_ends_at")
        if starts and ends and ends <= starts:
            self.add_error("sale_ends_at", _("The sale must end after it starts."))
        price_list: PriceList | None = cleaned_data.get("price_list")
        price_typed = any(name in self.changed_data for name in PRICE_FIELDS)
        if price_list is not None and (
            not price_list.is_derived or (price_typed and "is_manual" not in self.changed_data)
        ):
            cleaned_data["is_manual"] = True
        return cleaned_data


class PriceEntryInline(admin.TabularInline):
    """A variant's price in each price list (shown on the variant's page)."""

    model = PriceEntry
    form = PriceEntryForm
    formset = SharedChoicesFormSet
    extra = 1
    fields = ["price_list", *PRICE_FIELDS, "is_manual"]
    verbose_name_plural = _("prices in the price lists")

    def get_queryset(self, request: HttpRequest) -> QuerySet[PriceEntry]:
        return super().get_queryset(request).select_related("price_list").order_by("price_list")


def price_entries_follow(request: HttpRequest, formset: BaseInlineFormSet) -> None:  # type: ignore[type-arg]
    """After a variant's prices were saved: derived lists follow them.

    A manual price is passed on to the lists derived from its list; an entry
    handed back to the rule is recomputed; a removed price is unset, so a
    derived list's rule price comes back.
    """
    variant_id = formset.instance.pk
    reports: list[RebuildReport] = []
    saved: list[PriceEntry] = [
        *formset.new_objects,
        *(entry for entry, _changed in formset.changed_objects),
    ]
    for entry in saved:
        if entry.is_manual:
            reports += derived_follow(entry.price_list, variant_ids=[variant_id])
        else:
            reports.append(price_list_rebuild(entry.price_list, variant_ids=[variant_id]))
    for entry in formset.deleted_objects:
        price_unset(price_list=entry.price_list, variant_id=variant_id)
    rebuild_problems_tell(request, reports)


# Exchange rates


class ExchangeRateForm(forms.ModelForm):  # type: ignore[type-arg]
    """Rates typed by the merchant are always manual ones."""

    class Meta:
        model = ExchangeRate
        fields = ["currency", "rate", "effective_date", "source", "is_pinned"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "source" in self.fields:
            self.fields["source"].disabled = True
            if self.instance.pk is None:
                self.instance.source = ExchangeRate.Source.MANUAL
                self.initial["source"] = ExchangeRate.Source.MANUAL

    def clean_currency(self) -> str:
        currency = upper_currency_code(self)
        if currency == BASE_CURRENCY:
            raise ValidationError(_("Rates are units per euro: the euro itself is always 1."))
        return currency

    def clean_rate(self) -> Any:
        rate = self.cleaned_data["rate"]
        if rate is not None and rate <= 0:
            raise ValidationError(_("A rate must be more than zero."))
        return rate


@admin.register(ExchangeRate)
class ExchangeRateAdmin(RetiresCachesAdmin):
    """ECB reference rates are history and stay as they arrived; manual rates can be edited."""

    def caches_retire(self, objects: Sequence[Any]) -> None:
        exchange_rates_changed()

    form = ExchangeRateForm
    list_display = ["currency", "rate", "effective_date", "source", "is_pinned", "created_at"]
    list_filter = ["source", "is_pinned", "currency"]
    search_fields = ["currency"]
    date_hierarchy = "effective_date"
    fields = ["currency", "rate", "effective_date", "source", "is_pinned"]

    def has_change_permission(self, request: HttpRequest, obj: ExchangeRate | None = None) -> bool:
        if obj is not None and obj.source == ExchangeRate.Source.ECB:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: ExchangeRate | None = None) -> bool:
        if obj is not None and obj.source == ExchangeRate.Source.ECB:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: ExchangeRate, form: Any, change: bool) -> None:
        if not change:
            obj.source = ExchangeRate.Source.MANUAL
        super().save_model(request, obj, form, change)
        self.message_user(
            request,
            gettext(
                "Derived price lists keep their prices until they are recomputed: "
                "select them under Price lists and run “Recompute derived prices”."
            ),
            messages.INFO,
        )


# Stock


@admin.register(StockPool)
class StockPoolAdmin(PricingConfigAdmin):
    list_display = ["name", "code", "country"]
    search_fields = ["name", "code"]
    list_select_related = ["country"]
    autocomplete_fields = ["country"]
    prepopulated_fields = {"code": ["name"]}


class StockLevelForm(forms.ModelForm):  # type: ignore[type-arg]
    """Explains, before the database refuses it, a quantity below what orders hold."""

    class Meta:
        model = StockLevel
        fields = ["quantity"]

    def clean_quantity(self) -> int:
        quantity: int = self.cleaned_data["quantity"]
        if quantity < 0:
            raise ValidationError(_("The quantity cannot be negative."))
        level: StockLevel = self.instance
        if quantity < level.reserved and not level.allows_backorder:
            raise ValidationError(
                ngettext(
                    "%(reserved)d unit is reserved for orders: the quantity cannot be lower.",
                    "%(reserved)d units are reserved for orders: the quantity cannot be lower.",
                    level.reserved,
                )
                % {"reserved": level.reserved}
            )
        return quantity


class StockLevelInline(admin.TabularInline):
    """A variant's stock in each pool (shown on the variant's page)."""

    model = StockLevel
    form = StockLevelForm
    formset = SharedChoicesFormSet
    extra = 1
    fields = ["pool", "quantity", "reserved"]
    readonly_fields = ["reserved"]
    verbose_name_plural = _("stock in the pools")

    def get_queryset(self, request: HttpRequest) -> QuerySet[StockLevel]:
        return super().get_queryset(request).select_related("pool").order_by("pool__name")


@admin.register(StockLevel)
class StockLevelAdmin(RetiresCachesAdmin):
    form = StockLevelForm

    def caches_retire(self, objects: Sequence[Any]) -> None:
        stock_changed(level.variant_id for level in objects)

    list_display = ["variant", "pool", "quantity", "reserved", "available_units", "updated_at"]
    list_editable = ["quantity"]
    list_filter = ["pool", "allows_backorder"]
    search_fields = ["variant__sku"]
    list_select_related = ["variant", "pool"]
    autocomplete_fields = ["variant"]
    fields = ["variant", "pool", "quantity", "reserved", "allows_backorder", "updated_at"]
    actions = ["quantity_set_zero", "quantity_add_ten"]

    def get_readonly_fields(self, request: HttpRequest, obj: StockLevel | None = None) -> list[str]:
        locked = ["variant", "pool"] if obj is not None else []
        return [*locked, "reserved", "allows_backorder", "updated_at"]

    def get_changelist_form(self, request: HttpRequest, **kwargs: Any) -> Any:
        return super().get_changelist_form(request, form=StockLevelForm, **kwargs)

    @admin.display(description=_("available"))
    def available_units(self, level: StockLevel) -> int:
        return level.quantity - level.reserved

    @admin.action(description=_("Set quantity to zero"))
    def quantity_set_zero(self, request: HttpRequest, queryset: QuerySet[StockLevel]) -> None:
        count, kept = stock_levels_zero(queryset)
        self.message_user(
            request,
            ngettext(
                "%(count)d stock level set to zero.", "%(count)d stock levels set to zero.", count
            )
            % {"count": count},
            messages.SUCCESS,
        )
        if kept:
            self.message_user(
                request,
                ngettext(
                    "%(count)d stock level kept its quantity: units are reserved for orders "
                    "and the variant does not allow backorder.",
                    "%(count)d stock levels kept their quantity: units are reserved for orders "
                    "and the variants do not allow backorder.",
                    kept,
                )
                % {"count": kept},
                messages.WARNING,
            )

    @admin.action(description=_("Add 10 units"))
    def quantity_add_ten(self, request: HttpRequest, queryset: QuerySet[StockLevel]) -> None:
        count = stock_levels_add(queryset, units=UNITS_ADDED_BY_ACTION)
        self.message_user(
            request,
            ngettext(
                "%(units)d units added to %(count)d stock level.",
                "%(units)d units added to each of %(count)d stock levels.",
                count,
            )
            % {"units": UNITS_ADDED_BY_ACTION, "count": count},
            messages.SUCCESS,
        )


# What markets use


@admin.register(MarketPriceList)
class MarketPriceListAdmin(PricingConfigAdmin):
    """The price list of each market, and of customer groups within it."""

    list_display = ["market", "customer_group_or_retail", "price_list"]
    list_filter = ["market", "customer_group"]
    list_select_related = ["market", "customer_group", "price_list"]
    autocomplete_fields = ["market", "price_list"]
    ordering = ["market", "customer_group"]

    @admin.display(description=_("customer group"), ordering="customer_group")
    def customer_group_or_retail(self, link: MarketPriceList) -> str:
        return str(link.customer_group) if link.customer_group else gettext("Retail")


@admin.register(MarketStockPool)
class MarketStockPoolAdmin(PricingConfigAdmin):
    """The stock pools each market sells from, in the order it draws from them."""

    list_display = ["market", "pool", "position"]
    list_editable = ["position"]
    list_filter = ["market", "pool"]
    list_select_related = ["market", "pool"]
    autocomplete_fields = ["market", "pool"]
    ordering = ["market", "position"]


class MarketPriceListInline(admin.TabularInline):
    model = MarketPriceList
    extra = 0
    autocomplete_fields = ["price_list"]
    verbose_name = _("price list")
    verbose_name_plural = _("price lists (empty customer group: retail)")


class MarketStockPoolInline(admin.TabularInline):
    model = MarketStockPool
    extra = 0
    autocomplete_fields = ["pool"]
    ordering = ["position"]
    verbose_name = _("stock pool")
    verbose_name_plural = _("stock pools, in the order the market draws from them")


# Products and variants with their prices and stock


class StockStatusFilter(admin.SimpleListFilter):
    """In, low or out of stock, computed in SQL.

    The units available in all pools (quantity − reserved) of the product's
    active variants, against the sum of their low-stock thresholds.
    """

    title = _("stock")
    parameter_name = "stock"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("in", _("In stock")),
            ("low", _("Low stock")),
            ("out", _("Out of stock")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Product]) -> QuerySet[Product]:
        status = self.value()
        if status not in {"in", "low", "out"}:
            return queryset
        available = (
            StockLevel.objects.filter(variant__product=OuterRef("pk"), variant__is_active=True)
            .order_by()
            .values("variant__product")
            .annotate(units=Sum(Greatest(F("quantity") - F("reserved"), Value(0))))
            .values("units")
        )
        threshold = (
            Variant.objects.filter(product=OuterRef("pk"), is_active=True)
            .order_by()
            .values("product")
            .annotate(units=Sum("low_stock_threshold"))
            .values("units")
        )
        products = queryset.annotate(
            units_available=Coalesce(Subquery(available), 0),
            low_stock_units=Coalesce(Subquery(threshold), 0),
        )
        if status == "in":
            return products.filter(units_available__gt=F("low_stock_units"))
        if status == "low":
            return products.filter(units_available__gt=0, units_available__lte=F("low_stock_units"))
        return products.filter(units_available=0)


@dataclass(frozen=True)
class PriceCell:
    amount: Decimal
    currency: str
    is_rule: bool


@dataclass(frozen=True)
class VariantSummary:
    variant: Variant
    url: str
    prices: list[PriceCell | None]
    stock: list[int | None]


def prices_and_stock_table(product: Product) -> dict[str, Any]:
    """Each variant's price in every list and units available in every pool. Five queries."""
    price_lists = list(PriceList.objects.order_by("code"))
    pools = list(StockPool.objects.order_by("name"))
    variants = Variant.objects.filter(product=product).order_by("position", "id")
    variants = variants.prefetch_related(
        Prefetch("price_entries", queryset=PriceEntry.objects.order_by()),
        Prefetch("stock_levels", queryset=StockLevel.objects.order_by()),
    )
    rows = []
    for variant in variants:
        entries = {entry.price_list_id: entry for entry in variant.price_entries.all()}
        levels = {level.pool_id: level for level in variant.stock_levels.all()}
        prices: list[PriceCell | None] = []
        for price_list in price_lists:
            entry = entries.get(price_list.pk)
            prices.append(
                None
                if entry is None
                else PriceCell(
                    amount=quantize(entry.amount, price_list.currency),
                    currency=price_list.currency,
                    is_rule=not entry.is_manual,
                )
            )
        stock = [
            levels[pool.pk].quantity - levels[pool.pk].reserved if pool.pk in levels else None
            for pool in pools
        ]
        url = reverse("admin:catalog_variant_change", args=[variant.pk])
        rows.append(VariantSummary(variant=variant, url=url, prices=prices, stock=stock))
    return {"price_lists": price_lists, "pools": pools, "rows": rows}


def inserted_after(items: Sequence[Any], anchor: Any, *new: Any) -> list[Any]:
    """``items`` with ``new`` placed right after ``anchor``."""
    position = list(items).index(anchor) + 1
    return [*items[:position], *new, *items[position:]]


def fieldsets_inserted_before(fieldsets: Sequence[Any], field_name: str, *new: Any) -> list[Any]:
    """``fieldsets`` with ``new`` placed before the fieldset that shows ``field_name``."""
    position = next(
        index
        for index, (_title, options) in enumerate(fieldsets)
        if field_name in options["fields"]
    )
    return [*fieldsets[:position], *new, *fieldsets[position:]]


class PricedProductAdmin(ProductAdmin):
    """The catalogue's product page with a table of prices and stock, and a stock filter."""

    list_filter = inserted_after(ProductAdmin.list_filter, "is_published", StockStatusFilter)
    readonly_fields = [*ProductAdmin.readonly_fields, "prices_and_stock"]
    fieldsets = fieldsets_inserted_before(
        ProductAdmin.fieldsets,
        "created_at",
        (_("Prices and stock"), {"fields": ["prices_and_stock"]}),
    )

    @admin.display(description=_("prices and stock"))
    def prices_and_stock(self, product: Product) -> SafeString | str:
        if product.pk is None:
            return "—"
        return render_to_string(
            "admin/pricing/prices_and_stock.html", prices_and_stock_table(product)
        )


class PricedVariantAdmin(VariantAdmin):
    """The catalogue's variant page with its price in every list and stock in every pool."""

    inlines = [*VariantAdmin.inlines, PriceEntryInline, StockLevelInline]

    def caches_retire(self, objects: Sequence[Any]) -> None:
        super().caches_retire(objects)
        variant_ids = [variant.pk for variant in objects]
        stock_changed(variant_ids)
        price_lists_changed(
            PriceEntry.objects.filter(variant_id__in=variant_ids).values_list(
                "price_list_id", flat=True
            )
        )

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        super().save_formset(request, form, formset, change)
        if formset.model is PriceEntry:
            price_entries_follow(request, formset)


# Importing catalog.admin above registered the catalogue's classes; these take
# their place under the same URLs. INSTALLED_APPS lists catalog before pricing,
# so admin autodiscovery loads this module after the catalogue's as well.
admin.site.unregister(Product)
admin.site.register(Product, PricedProductAdmin)
admin.site.unregister(Variant)
admin.site.register(Variant, PricedVariantAdmin)
admin.site.unregister(TaxClass)
admin.site.register(TaxClass, TaxClassWithRatesAdmin)


# Dealer applications


class DealerRejectionForm(forms.Form):
    note = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        max_length=2000,
        help_text=_("The customer reads it in the e-mail and on their dealer page."),
    )


@admin.register(DealerApplication)
class DealerApplicationAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Applications are made in the storefront and decided here by the actions."""

    list_display = [
        "company_name",
        "status",
        "country",
        "vat_or_tax_number",
        "vat_check_message",
        "market",
        "resulting_group",
        "created_at",
    ]
    list_filter = ["status", "market", ("country", admin.RelatedOnlyFieldListFilter)]
    search_fields = [
        "company_name",
        "vat_number",
        "tax_number",
        "customer__user__email",
        "customer__user__last_name",
    ]
    list_select_related = ["country", "market__dealer_group", "group"]
    date_hierarchy = "created_at"
    actions = ["approve", "reject"]
    fieldsets = [
        (
            _("Applicant"),
            {
                "fields": [
                    "customer",
                    "email",
                    "company_name",
                    "country",
                    "vat_number",
                    "vat_check_message",
                    "tax_number",
                    "phone",
                    "message",
                    "market",
                    "created_at",
                ]
            },
        ),
        (
            _("Decision"),
            {
                "fields": [
                    "status",
                    "resulting_group",
                    "decided_at",
                    "decided_by",
                    "decision_note",
                    "decision_emailed_at",
                ]
            },
        ),
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # What the customer sent stays as sent; decisions go through the actions.
        names = [field.name for field in DealerApplication._meta.fields]
        return ["email", "resulting_group", *names]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description=_("e-mail"), ordering="customer__user__email")
    def email(self, application: DealerApplication) -> str:
        return application.customer.user.email

    @admin.display(description=_("VAT or tax number"))
    def vat_or_tax_number(self, application: DealerApplication) -> str:
        return application.vat_number or application.tax_number

    @admin.display(description=_("group"))
    def resulting_group(self, application: DealerApplication) -> str:
        """The group the dealer joined, or the one approving would put them in."""
        if application.status == DealerApplication.Status.APPROVED:
            return str(application.group or "—")
        if application.status == DealerApplication.Status.REJECTED:
            return "—"
        group = application.market.dealer_group
        if group is None:
            return gettext("none: the market has no dealer group")
        return gettext("%(group)s, when approved") % {"group": group}

    def _decide(
        self,
        request: HttpRequest,
        queryset: QuerySet[DealerApplication],
        decide: Callable[[DealerApplication], object],
        done_message: Callable[[int], str],
    ) -> None:
        """Decide each application; what could not be decided is named with the reason."""
        done = 0
        for application in queryset.order_by("pk"):
            try:
                decide(application)
            except DealerApplicationError as error:
                self.message_user(
                    request, f"{application.company_name}: {error.message}", messages.ERROR
                )
            else:
                done += 1
        if done:
            self.message_user(request, done_message(done), messages.SUCCESS)

    @admin.action(description=_("Approve: the customers get dealer prices"), permissions=["change"])
    def approve(self, request: HttpRequest, queryset: QuerySet[DealerApplication]) -> None:
        self._decide(
            request,
            queryset,
            lambda application: dealer_application_approve(
                application=application, by=_staff(request)
            ),
            lambda done: (
                ngettext(
                    "%d application approved; the customer is e-mailed.",
                    "%d applications approved; the customers are e-mailed.",
                    done,
                )
                % done
            ),
        )

    @admin.action(description=_("Reject (asks for the reason)"), permissions=["change"])
    def reject(
        self, request: HttpRequest, queryset: QuerySet[DealerApplication]
    ) -> TemplateResponse | None:
        """First shows the selected applications with a field for the reason; the
        form posts back to this action with ``confirmed``."""
        form = DealerRejectionForm(request.POST if "confirmed" in request.POST else None)
        if form.is_bound and form.is_valid():
            note = form.cleaned_data["note"]
            self._decide(
                request,
                queryset,
                lambda application: dealer_application_reject(
                    application=application, by=_staff(request), note=note
                ),
                lambda done: (
                    ngettext(
                        "%d application rejected; the customer is e-mailed the reason.",
                        "%d applications rejected; the customers are e-mailed the reason.",
                        done,
                    )
                    % done
                ),
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Reject dealer applications"),
            "applications": queryset.select_related("country", "customer__user").order_by("pk"),
            "form": form,
            "opts": self.model._meta,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/pricing/dealer_application_reject.html", context)


def _staff(request: HttpRequest) -> AbstractBaseUser | None:
    """The signed-in merchant who decides (admin views are for signed-in staff only)."""
    user = request.user
    return user if isinstance(user, AbstractBaseUser) else None
