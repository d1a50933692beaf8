"""Storefront reads: listings, facets, product pages, search, sitemaps.

Every query filters visibility in SQL and fetches the shopper's language in
the same round trip, so a page costs a fixed number of queries whatever its
size. Prices come from ``pricing.offers_for``; sorting and price filters use
the matching price-list amounts in SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    FilteredRelation,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from catalog.models import (
    AttributeValue,
    Product,
    ProductImage,
    ProductTranslation,
    Variant,
)
from catalog.search import search_translations
from pricing.models import PriceEntry, StockLevel
from pricing.selectors import market_pricing
from shop.context import MarketContext

SORTS = {
    "newest": ("-published_at", "-id"),
    "price": ("list_price", "id"),
    "-price": ("-list_price", "-id"),
    "name": ("name", "id"),
}
DEFAULT_SORT = "newest"


@dataclass(frozen=True)
class ListingFilters:
    brand_ids: tuple[int, ...] = ()
    attribute_value_ids: tuple[int, ...] = ()
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    in_stock_only: bool = False
    sort: str = DEFAULT_SORT


def _list_ids(context: MarketContext) -> list[int]:
    config = market_pricing(context.market.id)
    return [
        info.id
        for info in config.price_lists_for(context.customer_group_id)
        if info.currency == context.currency
    ]


def _effective_list_price(price_list_id: int, at: datetime) -> Subquery:
    """The product's lowest current price (sale price while a sale runs) in one list."""
    on_sale = (
        Q(sale_amount__isnull=False)
        & (Q(sale_starts_at__isnull=True) | Q(sale_starts_at__lte=at))
        & (Q(sale_ends_at__isnull=True) | Q(sale_ends_at__gt=at))
    )
    entries = (
        PriceEntry.objects.filter(
            price_list_id=price_list_id,
            variant__product_id=OuterRef("pk"),
            variant__is_active=True,
        )
        .annotate(effective=Case(When(on_sale, then=F("sale_amount")), default=F("amount")))
        .order_by("effective")
        .values("effective")[:1]
    )
    return Subquery(entries)


def storefront_products(context: MarketContext) -> QuerySet[Product]:
    """Products a shopper in this context may see, priced in the market, with their text.

    Annotated with ``name``, ``slug`` (in the context's language) and
    ``list_price`` (lowest current amount in the market's price list, used for
    sorting and price filters). Products without a translation or a price in
    the market are left out.
    """
    list_ids = _list_ids(context)
    if not list_ids:
        return Product.objects.none()
    at = timezone.now()
    prices = [_effective_list_price(list_id, at) for list_id in list_ids]
    price = Coalesce(*prices) if len(prices) > 1 else prices[0]
    return (
        Product.objects.visible_in(context.country)
        .annotate(
            text=FilteredRelation(
                "translations", condition=Q(translations__language=context.language)
            )
        )
        .filter(text__isnull=False)
        .annotate(name=F("text__name"), slug=F("text__slug"), list_price=price)
        .filter(list_price__isnull=False)
        .select_related("primary_image", "brand")
    )


def _in_stock(context: MarketContext) -> Q:
    pools = market_pricing(context.market.id).pool_ids
    stocked = StockLevel.objects.filter(
        variant__product_id=OuterRef("pk"),
        variant__is_active=True,
        pool_id__in=pools,
        quantity__gt=F("reserved"),
    )
    backorder = Variant.objects.filter(
        product_id=OuterRef("pk"), is_active=True, allows_backorder=True
    )
    return Q(Exists(stocked)) | Q(Exists(backorder))


def _has_attribute_values(value_ids: Sequence[int]) -> Q:
    on_product = Product.attribute_values.through.objects.filter(
        product_id=OuterRef("pk"), attributevalue_id__in=value_ids
    )
    on_variant = Variant.option_values.through.objects.filter(
        variant__product_id=OuterRef("pk"),
        variant__is_active=True,
        attributevalue_id__in=value_ids,
    )
    return Q(Exists(on_product)) | Q(Exists(on_variant))


def category_products(context: MarketContext, category_ids: Sequence[int]) -> QuerySet[Product]:
    """Visible products in any of ``category_ids``."""
    in_category = Product.categories.through._default_manager.filter(
        product_id=OuterRef("pk"), category_id__in=category_ids
    )
    return storefront_products(context).filter(Exists(in_category))


def filtered(
    products: QuerySet[Product], context: MarketContext, filters: ListingFilters
) -> QuerySet[Product]:
    """Apply brand, attribute, price and stock filters and the sort order."""
    if filters.brand_ids:
        products = products.filter(brand_id__in=filters.brand_ids)
    if filters.attribute_value_ids:
        values = AttributeValue.objects.filter(pk__in=filters.attribute_value_ids)
        by_attribute: dict[int, list[int]] = {}
        for value_id, attribute_id in values.values_list("id", "attribute_id"):
            by_attribute.setdefault(attribute_id, []).append(value_id)
        # Values of one attribute widen the choice (OR); attributes narrow it (AND).
        for value_ids in by_attribute.values():
            products = products.filter(_has_attribute_values(value_ids))
    if filters.price_min is not None:
        products = products.filter(list_price__gte=filters.price_min)  # type: ignore[misc]
    if filters.price_max is not None:
        products = products.filter(list_price__lte=filters.price_max)  # type: ignore[misc]
    if filters.in_stock_only:
        products = products.filter(_in_stock(context))
    return products.order_by(*SORTS.get(filters.sort, SORTS[DEFAULT_SORT]))


@dataclass(frozen=True)
class Facets:
    brands: list[tuple[int, str, int]]  # id, name, product count
    attributes: list[tuple[str, list[tuple[int, str]]]]  # attribute name, values


def listing_facets(products: QuerySet[Product], language: str) -> Facets:
    """Brands (with counts) and attribute values present among ``products``. Two queries."""
    ids = products.order_by().values("pk")
    brands = (
        Product.objects.filter(pk__in=ids, brand__isnull=False)
        .values_list("brand_id", "brand__name")
        .annotate(count=Count("id"))
        .order_by("brand__name")
    )
    on_product = Product.attribute_values.through.objects.filter(
        attributevalue_id=OuterRef("pk"), product_id__in=ids
    )
    on_variant = Variant.option_values.through.objects.filter(
        attributevalue_id=OuterRef("pk"), variant__product_id__in=ids, variant__is_active=True
    )
    values = (
        AttributeValue.objects.filter(attribute__is_filterable=True)
        .filter(Exists(on_product) | Exists(on_variant))
        .select_related("attribute")
        .order_by("attribute__position", "attribute__code", "position", "code")
    )
    attributes: dict[int, tuple[str, list[tuple[int, str]]]] = {}
    for value in values:
        name = value.attribute.name_in(language)
        attributes.setdefault(value.attribute_id, (name, []))[1].append(
            (value.pk, value.name_in(language))
        )
    return Facets(brands=[tuple(row) for row in brands], attributes=list(attributes.values()))  # type: ignore[misc]


def variant_ids_by_product(product_ids: Sequence[int]) -> dict[int, list[int]]:
    """Active variant ids of each product, in display order. One query."""
    grouped: dict[int, list[int]] = {}
    rows = (
        Variant.objects.filter(product_id__in=product_ids, is_active=True)
        .order_by("position", "id")
        .values_list("product_id", "id")
    )
    for product_id, variant_id in rows:
        grouped.setdefault(product_id, []).append(variant_id)
    return grouped


def product_for_page(context: MarketContext, slug: str) -> Product | None:
    """A visible product by its slug in the context's language, with all the page needs.

    Five queries: product with text, brand and main category; its variants;
    their option values; images; attribute values.
    """
    product = (
        Product.objects.visible_in(context.country)
        .annotate(
            text=FilteredRelation(
                "translations", condition=Q(translations__language=context.language)
            )
        )
        .filter(text__slug=slug)
        .annotate(
            name=F("text__name"),
            slug=F("text__slug"),
            description=F("text__description"),
            seo_title=F("text__seo_title"),
            seo_description=F("text__seo_description"),
        )
        .select_related("brand", "primary_image")
        .prefetch_related(
            Prefetch(
                "variants",
                queryset=Variant.objects.filter(is_active=True)
                .order_by("position", "id")
                .prefetch_related(
                    Prefetch(
                        "option_values",
                        queryset=AttributeValue.objects.select_related("attribute"),
                    )
                ),
            ),
            Prefetch("images", queryset=ProductImage.objects.order_by("position", "id")),
            Prefetch(
                "attribute_values",
                queryset=AttributeValue.objects.select_related("attribute").order_by(
                    "attribute__position", "position"
                ),
            ),
        )
        .first()
    )
    return product


def product_slug_in_other_language(context: MarketContext, slug: str) -> str | None:
    """The product's slug in the context's language when ``slug`` belongs to another one."""
    translation = (
        ProductTranslation.objects.filter(slug=slug)
        .filter(product__in=Product.objects.visible_in(context.country))
        .values_list("product_id", flat=True)
        .first()
    )
    if translation is None:
        return None
    return (
        ProductTranslation.objects.filter(product_id=translation, language=context.language)
        .values_list("slug", flat=True)
        .first()
    )


def product_slugs(product_id: int) -> dict[str, str]:
    """Slug of the product in each language it is translated to. One query."""
    return dict(
        ProductTranslation.objects.filter(product_id=product_id).values_list("language", "slug")
    )


def variant_for_sku(context: MarketContext, sku: str) -> tuple[Variant, str] | None:
    """The active variant with ``sku`` and its product's slug, if visible here."""
    row = (
        Variant.objects.filter(sku=sku.strip().upper(), is_active=True)
        .filter(product__in=Product.objects.visible_in(context.country))
        .annotate(
            text=FilteredRelation(
                "product__translations",
                condition=Q(product__translations__language=context.language),
            ),
            slug=F("text__slug"),
        )
        .filter(slug__isnull=False)
        .first()
    )
    if row is None:
        return None
    return row, row.slug  # type: ignore[attr-defined]


def search_products(context: MarketContext, text: str) -> QuerySet[Product]:
    """Visible, priced products matching ``text`` in the context's language, best first."""
    matches = search_translations(text, context.language)
    relevance = matches.filter(product_id=OuterRef("pk")).values("relevance")[:1]  # type: ignore[misc]
    return (
        storefront_products(context)
        .annotate(relevance=Subquery(relevance))
        .filter(relevance__isnull=False)
        .order_by("-relevance", "-published_at", "-id")
    )


def sitemap_products(country: str, language: str) -> QuerySet[ProductTranslation]:
    """Translations of products visible in ``country``, for the sitemap."""
    visible = Product.objects.visible_in(country)
    return (
        ProductTranslation.objects.filter(language=language, product__in=visible)
        .order_by("product_id")
        .values("slug", "product__updated_at")  # type: ignore[return-value]
    )
