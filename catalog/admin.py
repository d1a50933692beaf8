"""Admin for the catalogue: products with their texts, variants and images, categories."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, OuterRef, Prefetch, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Greatest
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from treebeard.admin import TreeAdmin
from treebeard.forms import movenodeform_factory

from catalog.images import image_renditions_make
from catalog.models import (
    Attribute,
    AttributeValue,
    Brand,
    Category,
    CategoryTranslation,
    Product,
    ProductImage,
    ProductTranslation,
    ProductType,
    Variant,
    translated,
)
from catalog.search import translations_index_update
from pricing.admin import (
    PriceEntryInline,
    SharedChoicesFormSet,
    StockLevelInline,
    price_entries_follow,
)
from pricing.models import PriceEntry, PriceList, StockLevel, StockPool
from pricing.money import quantize
from shop.models import Country

LANGUAGE_CODES = [code for code, _name in settings.LANGUAGES]
VARIANT_FIELDS = (
    "sku",
    "gtin",
    "option_values",
    "weight_grams",
    "allows_backorder",
    "low_stock_threshold",
    "position",
    "is_active",
)
SHORT_JSON: dict[type[models.Field[Any, Any]], dict[str, Any]] = {
    models.JSONField: {"widget": forms.Textarea(attrs={"rows": 2, "cols": 40})}
}


def product_name(product: Product) -> str:
    """The English name, else the first one written (from prefetched translations)."""
    names = {translation.language: translation.name for translation in product.translations.all()}
    return translated(names, "en", str(product))


def country_choices() -> list[tuple[str, str]]:
    return list(Country.objects.order_by("name").values_list("code", "name"))


class OneFormPerLanguageFormSet(BaseInlineFormSet):  # type: ignore[type-arg]
    """Offers an empty form for every shop language not written yet; one text is required."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        written = {translation.language for translation in self.get_queryset()}
        self.initial_extra = [{"language": code} for code in LANGUAGE_CODES if code not in written]

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        kept = [
            form for form in self.forms if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        if not kept:
            raise ValidationError(_("Add a name in at least one language."))


# Brands, attributes, product types


@admin.register(Brand)
class BrandAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}


class AttributeValueInline(admin.TabularInline):
    model = AttributeValue
    extra = 1
    fields = ["code", "names", "position"]
    formfield_overrides = SHORT_JSON


@admin.register(Attribute)
class AttributeAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "is_filterable", "position"]
    list_editable = ["is_filterable", "position"]
    search_fields = ["code", "names"]
    formfield_overrides = SHORT_JSON
    inlines = [AttributeValueInline]

    @admin.display(description=_("name"))
    def name(self, attribute: Attribute) -> str:
        return attribute.name_in("en")


@admin.register(ProductType)
class ProductTypeAdmin(admin.ModelAdmin):
    list_display = ["name", "option_list"]
    search_fields = ["name"]
    filter_horizontal = ["option_attributes"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ProductType]:
        return super().get_queryset(request).prefetch_related("option_attributes")

    @admin.display(description=_("variant options"))
    def option_list(self, product_type: ProductType) -> str:
        return ", ".join(str(attribute) for attribute in product_type.option_attributes.all())


# Categories


class CategoryTranslationInline(admin.StackedInline):
    model = CategoryTranslation
    formset = OneFormPerLanguageFormSet
    extra = len(LANGUAGE_CODES)
    max_num = len(LANGUAGE_CODES)
    fields = ["language", "name", "slug", "description", "seo_title", "seo_description"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Category)
class CategoryAdmin(TreeAdmin):
    form = movenodeform_factory(Category)
    list_display = ["code", "name", "is_active"]
    search_fields = ["code", "translations__name"]
    inlines = [CategoryTranslationInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Category]:
        return super().get_queryset(request).prefetch_related("translations")

    @admin.display(description=_("name"))
    def name(self, category: Category) -> str:
        names = {text.language: text.name for text in category.translations.all()}
        return translated(names, "en", category.code)


# Products


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


class ProductForm(forms.ModelForm):  # type: ignore[type-arg]
    visibility_countries = forms.MultipleChoiceField(
        label=_("countries"),
        choices=country_choices,
        required=False,
        widget=FilteredSelectMultiple(_("countries"), is_stacked=False),
        help_text=_("The countries the visibility rule names; not used for “Everywhere”."),
    )

    class Meta:
        model = Product
        fields = [
            "product_type",
            "brand",
            "tax_category",
            "is_published",
            "published_at",
            "categories",
            "primary_category",
            "attribute_values",
            "visibility",
            "visibility_countries",
            "weight_grams",
            "hs_code",
            "country_of_origin",
        ]

    def clean_visibility_countries(self) -> list[str]:
        return sorted(set(self.cleaned_data["visibility_countries"]))


class ProductTranslationInline(admin.StackedInline):
    model = ProductTranslation
    formset = OneFormPerLanguageFormSet
    extra = len(LANGUAGE_CODES)
    max_num = len(LANGUAGE_CODES)
    fields = ["language", "name", "slug", "description", "seo_title", "seo_description"]
    prepopulated_fields = {"slug": ["name"]}


class VariantInline(admin.TabularInline):
    model = Variant
    formset = SharedChoicesFormSet
    extra = 1
    fields = VARIANT_FIELDS
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> QuerySet[Variant]:
        return super().get_queryset(request).prefetch_related("option_values")


class ProductImageInline(admin.TabularInline):
    model = ProductImage
    extra = 1
    fields = ["image", "preview", "alt_texts", "position"]
    readonly_fields = ["preview"]
    formfield_overrides = SHORT_JSON

    @admin.display(description=_("preview"))
    def preview(self, product_image: ProductImage) -> str:
        if not product_image.listing:
            return "—"
        return format_html(
            '<img src="{}" alt="" style="max-height: 80px">', product_image.listing.url
        )


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


def primary_image_ensure(product: Product) -> None:
    """A product with images and no main one (none yet, or it was removed) gets its first."""
    first_image = product.images.order_by("position", "id").first()
    has_primary = Product.objects.filter(pk=product.pk, primary_image__isnull=False).exists()
    if first_image is not None and not has_primary:
        product.primary_image = first_image
        product.save(update_fields=["primary_image", "updated_at"])


class AttributeValueChoices:
    """Attribute value pickers label each value with its attribute in one query."""

    def formfield_for_manytomany(
        self, db_field: Any, request: HttpRequest, **kwargs: Any
    ) -> forms.ModelMultipleChoiceField | None:  # type: ignore[type-arg]
        if db_field.related_model is AttributeValue:
            kwargs["queryset"] = AttributeValue.objects.select_related("attribute")
        return super().formfield_for_manytomany(db_field, request, **kwargs)  # type: ignore[misc]


@admin.register(Product)
class ProductAdmin(AttributeValueChoices, admin.ModelAdmin):
    form = ProductForm
    list_display = [
        "name",
        "primary_sku",
        "variant_count",
        "brand",
        "is_published",
        "visibility",
        "published_at",
    ]
    list_filter = [
        "is_published",
        StockStatusFilter,
        "visibility",
        "brand",
        "categories",
        "product_type",
    ]
    search_fields = ["variants__sku", "variants__gtin", "translations__name"]
    list_select_related = ["brand"]
    autocomplete_fields = ["brand", "categories", "primary_category", "country_of_origin"]
    filter_horizontal = ["attribute_values"]
    readonly_fields = ["prices_and_stock", "created_at", "updated_at"]
    inlines = [ProductTranslationInline, VariantInline, ProductImageInline]
    fieldsets = [
        (
            None,
            {"fields": ["product_type", "brand", "tax_category", "is_published", "published_at"]},
        ),
        (_("Categories and attributes"), {"fields": ["categories", "primary_category"]}),
        (_("Attributes"), {"fields": ["attribute_values"], "classes": ["collapse"]}),
        (
            _("Visibility by country"),
            {"fields": ["visibility", "visibility_countries"]},
        ),
        (_("Shipping and customs"), {"fields": ["weight_grams", "hs_code", "country_of_origin"]}),
        (_("Prices and stock"), {"fields": ["prices_and_stock"]}),
        (_("History"), {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Product]:
        return (
            super()
            .get_queryset(request)
            .prefetch_related(
                Prefetch(
                    "translations",
                    queryset=ProductTranslation.objects.only(
                        "product_id", "language", "name"
                    ).order_by("id"),
                ),
                Prefetch(
                    "variants",
                    queryset=Variant.objects.only("product_id", "sku", "position").order_by(
                        "position", "id"
                    ),
                ),
            )
        )

    def get_fieldsets(self, request: HttpRequest, obj: Product | None = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            hidden_on_add = {"prices_and_stock", "created_at"}
            return [
                (title, options)
                for title, options in fieldsets
                if not hidden_on_add & set(options["fields"])
            ]
        return fieldsets

    @admin.display(description=_("name"))
    def name(self, product: Product) -> str:
        return product_name(product)

    @admin.display(description=_("SKU"))
    def primary_sku(self, product: Product) -> str:
        variants = product.variants.all()
        return variants[0].sku if variants else "—"

    @admin.display(description=_("variants"))
    def variant_count(self, product: Product) -> int:
        return len(product.variants.all())

    @admin.display(description=_("prices and stock"))
    def prices_and_stock(self, product: Product) -> SafeString | str:
        if product.pk is None:
            return "—"
        return render_to_string(
            "admin/catalog/product/prices_and_stock.html", prices_and_stock_table(product)
        )

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        super().save_formset(request, form, formset, change)
        if formset.model is ProductImage:
            for product_image in formset.new_objects:
                image_renditions_make(product_image)
            for product_image, changed_fields in formset.changed_objects:
                if "image" in changed_fields:
                    image_renditions_make(product_image)
            primary_image_ensure(formset.instance)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        product: Product = form.instance
        translations_index_update(product.translations.values_list("pk", flat=True))


# Variants


@admin.register(Variant)
class VariantAdmin(AttributeValueChoices, admin.ModelAdmin):
    """One SKU with its price in every price list and its stock in every pool."""

    list_display = ["sku", "product_title", "gtin", "is_active", "allows_backorder"]
    list_filter = ["is_active", "allows_backorder"]
    search_fields = ["sku", "gtin", "product__translations__name"]
    list_select_related = ["product"]
    autocomplete_fields = ["product"]
    filter_horizontal = ["option_values"]
    inlines = [PriceEntryInline, StockLevelInline]
    fields = ("product", *VARIANT_FIELDS)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Variant]:
        return (
            super()
            .get_queryset(request)
            .prefetch_related(
                Prefetch(
                    "product__translations",
                    queryset=ProductTranslation.objects.only(
                        "product_id", "language", "name"
                    ).order_by("id"),
                )
            )
        )

    def get_fields(self, request: HttpRequest, obj: Variant | None = None) -> Any:
        fields = list(super().get_fields(request, obj))
        if obj is not None:
            fields[fields.index("product")] = "product_title"
        return fields

    def get_readonly_fields(self, request: HttpRequest, obj: Variant | None = None) -> Any:
        return ["product_title"] if obj is not None else []

    @admin.display(description=_("product"))
    def product_title(self, variant: Variant) -> str:
        url = reverse("admin:catalog_product_change", args=[variant.product_id])
        return format_html('<a href="{}">{}</a>', url, product_name(variant.product))

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        super().save_formset(request, form, formset, change)
        if formset.model is PriceEntry:
            price_entries_follow(request, formset)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        variant: Variant = form.instance
        translations_index_update(
            ProductTranslation.objects.filter(product_id=variant.product_id).values_list(
                "pk", flat=True
            )
        )
