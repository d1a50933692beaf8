"""Admin for the catalogue: products with their texts, variants and images, categories.

Only what the catalogue owns. Prices and stock join these pages from
pricing/admin.py, which registers subclasses of ``ProductAdmin`` and
``VariantAdmin``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Prefetch, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.html import format_html
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
    TaxClass,
    Variant,
    translated,
)
from catalog.search import translations_index_update
from catalog.services import catalogue_changed, category_tree_changed
from shop.admin_mixins import RetiresCachesAdmin
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


class SharedChoicesFormSet(BaseInlineFormSet):  # type: ignore[type-arg]
    """Reads the options of each select once for the formset instead of once per row."""

    @cached_property
    def shared_choices(self) -> dict[str, list[Any]]:
        return {
            name: list(cast(Iterable[Any], field.choices))
            for name, field in self.form.base_fields.items()
            if isinstance(field, forms.ModelChoiceField)
        }

    def _construct_form(self, i: int, **kwargs: Any) -> Any:
        form = super()._construct_form(i, **kwargs)  # type: ignore[misc]
        for name, choices in self.shared_choices.items():
            form.fields[name].choices = choices
        return form


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


class CatalogueAdmin(RetiresCachesAdmin):
    """Changes here alter product texts, facets and product pages."""

    def caches_retire(self, objects: Sequence[Any]) -> None:
        catalogue_changed()


# Brands, attributes, product types


@admin.register(TaxClass)
class TaxClassAdmin(CatalogueAdmin):
    list_display = ["name", "code"]
    search_fields = ["name", "code"]
    prepopulated_fields = {"code": ["name"]}


@admin.register(Brand)
class BrandAdmin(CatalogueAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}


class AttributeValueInline(admin.TabularInline):
    model = AttributeValue
    extra = 1
    fields = ["code", "names", "position"]
    formfield_overrides = SHORT_JSON


@admin.register(Attribute)
class AttributeAdmin(CatalogueAdmin):
    list_display = ["code", "name", "is_filterable", "position"]
    list_editable = ["is_filterable", "position"]
    search_fields = ["code", "names"]
    formfield_overrides = SHORT_JSON
    inlines = [AttributeValueInline]

    @admin.display(description=_("name"))
    def name(self, attribute: Attribute) -> str:
        return attribute.name_in("en")


@admin.register(ProductType)
class ProductTypeAdmin(CatalogueAdmin):
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
class CategoryAdmin(RetiresCachesAdmin, TreeAdmin):
    form = movenodeform_factory(Category)
    list_display = ["code", "name", "is_active"]
    search_fields = ["code", "translations__name"]
    inlines = [CategoryTranslationInline]

    def caches_retire(self, objects: Sequence[Any]) -> None:
        category_tree_changed()

    def move_node(self, request: HttpRequest) -> HttpResponse:
        """Drag and drop in the tree moves a node without ``save_model``."""
        response = super().move_node(request)
        category_tree_changed()
        return response

    def get_queryset(self, request: HttpRequest) -> QuerySet[Category]:
        return super().get_queryset(request).prefetch_related("translations")

    @admin.display(description=_("name"))
    def name(self, category: Category) -> str:
        names = {text.language: text.name for text in category.translations.all()}
        return translated(names, "en", category.code)


# Products


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
            "tax_class",
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
class ProductAdmin(AttributeValueChoices, CatalogueAdmin):
    form = ProductForm

    def caches_retire(self, objects: Sequence[Any]) -> None:
        catalogue_changed(product.pk for product in objects)

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
        "visibility",
        "brand",
        "categories",
        "product_type",
    ]
    search_fields = ["variants__sku", "variants__gtin", "translations__name"]
    list_select_related = ["brand"]
    autocomplete_fields = ["brand", "categories", "primary_category", "country_of_origin"]
    filter_horizontal = ["attribute_values"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [ProductTranslationInline, VariantInline, ProductImageInline]
    fieldsets = [
        (
            None,
            {"fields": ["product_type", "brand", "tax_class", "is_published", "published_at"]},
        ),
        (_("Categories and attributes"), {"fields": ["categories", "primary_category"]}),
        (_("Attributes"), {"fields": ["attribute_values"], "classes": ["collapse"]}),
        (
            _("Visibility by country"),
            {"fields": ["visibility", "visibility_countries"]},
        ),
        (_("Shipping and customs"), {"fields": ["weight_grams", "hs_code", "country_of_origin"]}),
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
        """A new product has nothing to show yet in read-only sections (history, prices)."""
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            read_only = set(self.get_readonly_fields(request, obj))
            return [
                (title, options)
                for title, options in fieldsets
                if not set(options["fields"]) <= read_only
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
class VariantAdmin(AttributeValueChoices, CatalogueAdmin):
    """One SKU: its barcode, options, weight and stock rules."""

    def caches_retire(self, objects: Sequence[Any]) -> None:
        catalogue_changed(variant.product_id for variant in objects)

    list_display = ["sku", "product_title", "gtin", "is_active", "allows_backorder"]
    list_filter = ["is_active", "allows_backorder"]
    search_fields = ["sku", "gtin", "product__translations__name"]
    list_select_related = ["product"]
    autocomplete_fields = ["product"]
    filter_horizontal = ["option_values"]
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

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        variant: Variant = form.instance
        translations_index_update(
            ProductTranslation.objects.filter(product_id=variant.product_id).values_list(
                "pk", flat=True
            )
        )
