"""Catalogue reads: listings, facets, product pages, search, sitemaps.

Every query filters visibility in SQL and fetches the shopper's language in
the same round trip, so a page costs a fixed number of queries whatever its
size. Nothing here knows prices or stock: the storefront narrows and sorts
listings with ``pricing.selectors``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from django.contrib.postgres.search import SearchQuery, SearchRank, TrigramWordSimilarity
from django.core.cache import cache
from django.db import connection
from django.db.models import (
    Exists,
    F,
    FilteredRelation,
    FloatField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
)
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from catalog.models import (
    AttributeValue,
    Brand,
    Product,
    ProductImage,
    ProductTranslation,
    Variant,
    translated,
)
from catalog.search import fold_case, fold_plain, search_config
from shop.context import MarketContext
from shop.versions import CATALOGUE, version

T = TypeVar("T")


def visible_products(country: str, language: str) -> QuerySet[Product]:
    """Products a shopper in ``country`` may see, with their text in ``language``.

    Annotated with ``name`` and ``slug``; products without a translation in
    the language are left out. Whether they are priced is pricing's business
    (``pricing.selectors.products_priced``).
    """
    return (
        Product.objects.visible_in(country)
        .annotate(
            text=FilteredRelation("translations", condition=Q(translations__language=language))
        )
        .filter(text__isnull=False)
        .annotate(name=F("text__name"), slug=F("text__slug"))
        .select_related("primary_image", "brand")
    )


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


def products_in_categories(
    products: QuerySet[Product], category_ids: Sequence[int]
) -> QuerySet[Product]:
    """``products`` that are in any of ``category_ids``."""
    in_category = Product.categories.through._default_manager.filter(
        product_id=OuterRef("pk"), category_id__in=category_ids
    )
    return products.filter(Exists(in_category))


def products_with_attributes(
    products: QuerySet[Product],
    *,
    brand_ids: Sequence[int] = (),
    attribute_value_ids: Sequence[int] = (),
) -> QuerySet[Product]:
    """Narrow to brands and attribute values: values of one attribute widen the
    choice (OR), attributes narrow it (AND)."""
    if brand_ids:
        products = products.filter(brand_id__in=brand_ids)
    if attribute_value_ids:
        values = AttributeValue.objects.filter(pk__in=attribute_value_ids)
        by_attribute: dict[int, list[int]] = {}
        for value_id, attribute_id in values.values_list("id", "attribute_id"):
            by_attribute.setdefault(attribute_id, []).append(value_id)
        for value_ids in by_attribute.values():
            products = products.filter(_has_attribute_values(value_ids))
    return products


@dataclass(frozen=True)
class Facets:
    brands: list[tuple[int, str, int]]  # id, name, product count
    attributes: list[tuple[str, list[tuple[int, str]]]]  # attribute name, values


@dataclass(frozen=True)
class ListingSummary:
    total: int  # products matching the filters
    facets: Facets  # what the unfiltered listing offers to filter by


SUMMARY_TIMEOUT = 60 * 10


def catalogue_cached(kind: str, identity: tuple[object, ...], load: Callable[[], T]) -> T:
    """``load()``'s result, cached until the catalogue changes.

    Keyed by ``kind`` and ``identity`` (everything the result depends on),
    the content version, and the current minute, since publication and sales
    are checked to the minute. Kept at most ten minutes.
    """
    minute = timezone.now().strftime("%Y%m%d%H%M")
    digest = hashlib.sha256(repr((identity, minute)).encode()).hexdigest()[:32]
    key = f"catalog:{kind}:{version(CATALOGUE)}:{digest}"
    value: T | None = cache.get(key)
    if value is None:
        value = load()
        cache.set(key, value, SUMMARY_TIMEOUT)
    return value


# One round trip: the listing's size, and brand and attribute-value counts
# over it (on products and on their variants' options).
FACETS_SQL = """
WITH listing(listed_id) AS ({listing})
SELECT 'total', 0, COUNT(*) FROM listing
UNION ALL
SELECT 'brand', p.brand_id, COUNT(*) FROM catalog_product p
    WHERE p.id IN (SELECT listed_id FROM listing) AND p.brand_id IS NOT NULL GROUP BY p.brand_id
UNION ALL
SELECT 'value', pav.attributevalue_id, COUNT(DISTINCT pav.product_id)
    FROM catalog_product_attribute_values pav
    WHERE pav.product_id IN (SELECT listed_id FROM listing) GROUP BY pav.attributevalue_id
UNION ALL
SELECT 'value', vov.attributevalue_id, COUNT(DISTINCT v.product_id)
    FROM catalog_variant_option_values vov JOIN catalog_variant v ON v.id = vov.variant_id
    WHERE v.is_active AND v.product_id IN (SELECT listed_id FROM listing)
    GROUP BY vov.attributevalue_id
"""


def listing_summary(
    querysets: Callable[[], tuple[QuerySet[Product], QuerySet[Product]]],
    *,
    language: str,
    identity: tuple[object, ...],
    listing_identity: tuple[object, ...] | None = None,
) -> ListingSummary:
    """Count and facets of a listing: cached until the catalogue changes.

    ``querysets`` builds (the unfiltered listing, the filtered one) and is
    only called on a cache miss. ``identity`` names the filtered listing
    (market, country, customer group, category, filter values);
    ``listing_identity`` the unfiltered one, or None when no filter is set.
    Facets are counted over the unfiltered listing, so every filter
    combination of a category shares them (one query per category); a
    filtered listing adds only its own count.
    """
    whole_identity = identity if listing_identity is None else listing_identity
    whole = catalogue_cached(
        "listing-facets",
        (*whole_identity, language),
        lambda: _facets_load(querysets()[0], language),
    )
    if listing_identity is None:
        return whole
    total = catalogue_cached(
        "listing-count", identity, lambda: querysets()[1].order_by().values("pk").count()
    )
    return ListingSummary(total, whole.facets)


def _facets_load(listing: QuerySet[Product], language: str) -> ListingSummary:
    listing_sql, params = listing.order_by().values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(FACETS_SQL.format(listing=listing_sql), params)
        rows = cursor.fetchall()
    return _summary_from_rows(rows, language)


def cached_count(products: Callable[[], QuerySet[Product]], *, identity: tuple[object, ...]) -> int:
    """How many products a listing has: cached like listing summaries, else one COUNT."""
    return catalogue_cached("listing-count", identity, lambda: products().count())


def _summary_from_rows(rows: list[tuple[str, int, int]], language: str) -> ListingSummary:
    total = next((count for kind, _id, count in rows if kind == "total"), 0)
    brand_counts = {brand_id: count for kind, brand_id, count in rows if kind == "brand"}
    value_ids = {value_id for kind, value_id, _count in rows if kind == "value"}
    labels = attribute_labels()
    brands = sorted(
        (brand_id, labels.brands.get(brand_id, ""), count)
        for brand_id, count in brand_counts.items()
    )
    brands.sort(key=lambda row: row[1].casefold())
    attributes: dict[int, tuple[str, list[tuple[int, str]]]] = {}
    for value_id, attribute_id, attribute_names, value_names in labels.values:
        if value_id in value_ids:
            attribute_name = translated(attribute_names, language)
            attributes.setdefault(attribute_id, (attribute_name, []))[1].append(
                (value_id, translated(value_names, language))
            )
    return ListingSummary(total, Facets(brands=brands, attributes=list(attributes.values())))


@dataclass(frozen=True)
class AttributeLabels:
    brands: dict[int, str]
    # (value id, attribute id, attribute names, value names) of filterable attributes, in order
    values: list[tuple[int, int, dict[str, str], dict[str, str]]]


def attribute_labels() -> AttributeLabels:
    """Names of brands and filterable attribute values (cached until the catalogue changes)."""
    key = f"catalog:attribute-labels:{version(CATALOGUE)}"
    labels: AttributeLabels | None = cache.get(key)
    if labels is None:
        values = (
            AttributeValue.objects.filter(attribute__is_filterable=True)
            .select_related("attribute")
            .order_by("attribute__position", "attribute__code", "position", "code")
        )
        labels = AttributeLabels(
            brands=dict(Brand.objects.values_list("id", "name")),
            values=[
                (
                    value.pk,
                    value.attribute_id,
                    value.attribute.names or {"en": value.attribute.code},
                    value.names or {"en": value.code},
                )
                for value in values
            ],
        )
        cache.set(key, labels, SUMMARY_TIMEOUT)
    return labels


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


def product_page_data(context: MarketContext, slug: str) -> tuple[Product, dict[str, str]] | None:
    """The product with everything its page shows, and its slug per language.

    Cached per country, language and slug until the catalogue changes (and
    at most a minute, for scheduled publication); prices and stock are not
    part of it and stay live. Six queries when not cached, none when cached.
    """

    def load() -> tuple[Product, dict[str, str]] | None:
        product = product_for_page(context, slug)
        return None if product is None else (product, product_slugs(product.pk))

    return catalogue_cached("product-page", (context.country, context.language, slug), load)


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


def products_matching(
    products: QuerySet[Product], text: str, language: str, *, candidates: int | None = None
) -> QuerySet[Product]:
    """``products`` (from ``visible_products``) matching ``text`` in ``language``, best first.

    Full text with the language's configuration (weighted name, SKUs, then
    description) or trigram word similarity on the folded name for typos;
    both tests use the translation's GIN indexes.

    ``candidates`` bounds the work for words that match much of the
    catalogue: only that many matches, the newest (an index order, no rank
    computed), are ranked exactly. Without it every match is ranked.
    """
    query = SearchQuery(
        fold_case(text, language),
        config=search_config(language),
        search_type="websearch",
    )
    plain = fold_plain(text)
    matches = Q(text__search_vector=query) | Q(text__search_name__trigram_word_similar=plain)
    if candidates is not None:
        newest = products.filter(matches).order_by("-published_at", "-id").values("pk")
        products = products.filter(pk__in=newest[:candidates])
    else:
        products = products.filter(matches)
    rank = Coalesce(SearchRank(F("text__search_vector"), query), Value(0.0))
    similarity = TrigramWordSimilarity(plain, "text__search_name")
    return products.annotate(
        relevance=Greatest(rank * 2, similarity, output_field=FloatField())
    ).order_by("-relevance", "-published_at", "-id")


def sitemap_products(country: str, language: str) -> QuerySet[ProductTranslation]:
    """Translations of products visible in ``country``, for the sitemap."""
    visible = Product.objects.visible_in(country)
    return (
        ProductTranslation.objects.filter(language=language, product__in=visible)
        .order_by("product_id")
        .values("slug", "product__updated_at")  # type: ignore[return-value]
    )
