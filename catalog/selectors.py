"""Catalogue reads: listings, facets, product pages, search, sitemaps.

Every query filters visibility in SQL and fetches the shopper's language in
the same round trip, so a page costs a fixed number of queries whatever its
size. Nothing here knows prices or stock: the storefront narrows and sorts
listings with ``pricing.selectors``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from django.contrib.postgres.expressions import ArraySubquery
from django.contrib.postgres.search import SearchQuery, SearchRank, TrigramWordSimilarity
from django.core.cache import cache
from django.db import connection
from django.db.backends.utils import CursorWrapper
from django.db.models import (
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
from shop.config_cache import config_cached
from shop.context import MarketContext
from shop.versions import CATALOGUE, version

T = TypeVar("T")


def visible_products(country: str, language: str) -> QuerySet[Product]:
    """Products a shopper in ``country`` may see, with their text in ``language``.

    Annotated with ``name`` and ``slug``; products without a translation in
    the language are left out. Whether they are priced is pricing's business
    (``pricing.listing``).
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


def summary_from_counts(rows: list[tuple[str, int, int]], language: str) -> ListingSummary:
    """A listing's size and facets from (kind, id, count) rows: total, brand, value."""
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
    """Names of brands and filterable attribute values (in the process's memory and
    Redis until the catalogue changes)."""
    return config_cached(
        CATALOGUE, "attribute-labels", _attribute_labels_load, timeout=SUMMARY_TIMEOUT
    )


def _attribute_labels_load() -> AttributeLabels:
    values = (
        AttributeValue.objects.filter(attribute__is_filterable=True)
        .select_related("attribute")
        .order_by("attribute__position", "attribute__code", "position", "code")
    )
    return AttributeLabels(
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


def active_variant_ids() -> ArraySubquery:
    """A product's active variant ids in display order (an annotation: no query of its own)."""
    variants = Variant.objects.filter(product_id=OuterRef("pk"), is_active=True)
    return ArraySubquery(variants.order_by("position", "id").values("id"))


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


# Search in two steps: which products match (cheap, bounded), then the exact
# rank of those only. A word matching more than ``SEARCH_PROBE`` texts (or
# the caller's limit) is looked for among the listing's newest products
# instead (its matches are dense there); a rarer word's matches are all read
# through the index.
SEARCH_PROBE = 3000
# Fewer full-text matches than this: names similar to the words (typos) count
# too, for words of at least ``TYPO_MIN_LENGTH`` letters, at most ``TYPO_LIMIT``.
TYPO_BELOW = 24
TYPO_MIN_LENGTH = 4
TYPO_LIMIT = 200
WORD = re.compile(r"\w+")


def _text_query(text: str, language: str) -> tuple[str, list[str]]:
    """SQL (on table alias ``t``) matching the words with the language's configuration."""
    return (
        "t.search_vector @@ websearch_to_tsquery(%s::regconfig, %s)",
        [search_config(language), fold_case(text, language)],
    )


def search_matches(text: str, language: str, *, limit: int | None = None) -> list[int] | None:
    """Ids of the products whose text in ``language`` matches ``text``: all of them
    (at most ``limit``, default ``SEARCH_PROBE``), or None when full text matches
    more (then look for them with ``search_condition`` in a listing's order).

    Full text with the language's stemming and folding; when it finds fewer
    than ``TYPO_BELOW``, also names with words like the ones typed (trigram
    similarity, for typos). One to three queries on indexes, their work
    bounded whatever the catalogue's size.
    """
    limit = SEARCH_PROBE if limit is None else limit
    match, params = _text_query(text, language)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t.product_id FROM catalog_producttranslation t "  # noqa: S608 - fixed SQL
            f"WHERE t.language = %s AND {match} LIMIT %s",
            [language, *params, limit + 1],
        )
        found = [product_id for (product_id,) in cursor.fetchall()]
        if len(found) > limit:
            return None
        if len(found) < TYPO_BELOW:
            found += _similar_names(cursor, text, language)
    return list(dict.fromkeys(found))


def _similar_names(cursor: CursorWrapper, text: str, language: str) -> list[int]:
    """Products whose names hold a word like one of ``text``'s (typos): the words are
    looked up in the vocabulary (``SearchWord``), then in names. Two index queries."""
    words = [word for word in WORD.findall(fold_plain(text)) if len(word) >= TYPO_MIN_LENGTH]
    if not words:
        return []
    cursor.execute(
        """
        SELECT found.word
        FROM unnest(%s::text[]) AS typed,
        LATERAL (
            SELECT w.word FROM catalog_searchword w
            WHERE w.language = %s AND w.word %% typed
            ORDER BY similarity(w.word, typed) DESC, w.word LIMIT 2
        ) AS found
        """,
        [words, language],
    )
    similar = list(dict.fromkeys(word for (word,) in cursor.fetchall()))
    if not similar:
        return []
    # Each word's trigrams must all be in the name: the trigram index finds them.
    likes = " OR ".join(["t.search_name LIKE %s"] * len(similar))
    cursor.execute(
        f"SELECT t.product_id FROM catalog_producttranslation t "  # noqa: S608 - fixed SQL
        f"WHERE t.language = %s AND ({likes}) LIMIT %s",
        [language, *(f"%{word}%" for word in similar), TYPO_LIMIT],
    )
    return [product_id for (product_id,) in cursor.fetchall()]


def search_condition(text: str, language: str) -> tuple[str, list[str]]:
    """SQL that holds when the product whose id is in ``{product}`` has a text in
    ``language`` matching ``text`` (full text): a check per row, for walking a
    listing in its own order."""
    match, params = _text_query(text, language)
    return (
        "COALESCE((SELECT " + match + " FROM catalog_producttranslation t "  # noqa: S608
        "WHERE t.product_id = {product} AND t.language = %s), false)",
        [*params, language],
    )


def rank_terms(text: str, language: str) -> tuple[str, str]:
    """What ``products_ranked`` compares products with: the text folded for full
    text in ``language``, and folded plain for similarity."""
    return fold_case(text, language), fold_plain(text)


def products_ranked(
    products: QuerySet[Product], words: str, plain: str, language: str
) -> QuerySet[Product]:
    """``products`` (from ``visible_products``, already known to match) best first:
    the full-text rank (name and SKUs weigh most) or the name's similarity.

    ``words`` and ``plain`` are the shopper's text folded (``rank_terms``), so that
    the query can be compiled once with slots for them (``shop.db.compiled_query``).
    """
    query = SearchQuery(words, config=search_config(language), search_type="websearch")
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
