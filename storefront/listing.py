"""Listings as a shopper sees them: the catalogue's products, priced and in stock here.

The catalogue decides what is visible and matches a search; pricing decides
what is priced, in stock and at what price a listing sorts. This module
composes the two for the storefront's listing pages.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL

from catalog.models import Product, published_until
from catalog.selectors import (
    active_variant_ids,
    attribute_labels,
    products_ranked,
    rank_terms,
    search_condition,
    search_matches,
    visible_products,
)
from pricing.listing import (
    ListingQuery,
    listing_context_id,
    listing_newest,
    listing_size,
    products_listed,
)
from shop.context import MarketContext
from shop.db import CompiledQuery, Slot, compiled_query

DEFAULT_SORT = "newest"


@dataclass(frozen=True)
class ListingFilters:
    brand_ids: tuple[int, ...] = ()
    attribute_value_ids: tuple[int, ...] = ()
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    in_stock_only: bool = False
    sort: str = DEFAULT_SORT

    @property
    def is_refined(self) -> bool:
        """Filtered or sorted: a variant of the listing that search engines need not index."""
        return self != ListingFilters()

    @property
    def is_filtered(self) -> bool:
        """Narrowed by a filter (the sort order aside)."""
        return self.without_sort() != ListingFilters()

    def without_sort(self) -> ListingFilters:
        return ListingFilters(
            self.brand_ids,
            self.attribute_value_ids,
            self.price_min,
            self.price_max,
            self.in_stock_only,
        )


def context_listing_id(context: MarketContext) -> int | None:
    """The listing context (``pricing.ListingContext``) of the shopper, if the market has one."""
    return listing_context_id(context.market.id, context.country, context.customer_group_id)


def listing_query(
    context: MarketContext,
    listing_id: int,
    filters: ListingFilters = ListingFilters(),
    category_ids: Sequence[int] | None = None,
) -> ListingQuery:
    """The rows of the shopper's listing that ``filters`` and ``category_ids`` select.

    Attribute values are grouped by attribute: one value of each attribute
    must match. Values that are not filterable each form a group of their own.
    """
    attribute_of = {}
    if filters.attribute_value_ids:
        labels = attribute_labels().values
        attribute_of = {value_id: attribute_id for value_id, attribute_id, *_ in labels}
    groups: dict[object, list[int]] = {}
    for value_id in filters.attribute_value_ids:
        groups.setdefault(attribute_of.get(value_id, ("value", value_id)), []).append(value_id)
    return ListingQuery(
        context_id=listing_id,
        language=context.language,
        category_ids=None if category_ids is None else tuple(category_ids),
        brand_ids=filters.brand_ids,
        value_groups=tuple(tuple(values) for values in groups.values()),
        price_min=filters.price_min,
        price_max=filters.price_max,
        in_stock_only=filters.in_stock_only,
    )


def listed_products(context: MarketContext) -> QuerySet[Product]:
    """Products a shopper in this context may see and buy: visible, with a text in the
    language, and in the context's listing (priced in the market)."""
    products = visible_products(context.country, context.language)
    listing_id = context_listing_id(context)
    if listing_id is None:
        return products.none()
    return products_listed(products, listing_id)


@dataclass(frozen=True, slots=True)
class CardRow:
    """What a product card shows of the catalogue (``card_rows``)."""

    product_id: int
    name: str
    slug: str
    brand: str | None
    image: str | None  # the listing image's file name in storage
    image_alt_texts: dict[str, str] | None
    variant_ids: tuple[int, ...]


def _card_query(country: str, language: str) -> CompiledQuery:
    """The SQL of ``card_rows``, compiled once per country, language and minute (the
    catalogue's visibility rules read the minute) rather than on every listing page."""

    def build() -> tuple[QuerySet[Any], dict[str, Slot]]:
        ids = Slot()
        rows = (
            visible_products(country, language)
            .filter(_among(ids))
            .annotate(variant_ids=active_variant_ids())
            .order_by()
            .values_list(
                "id",
                "name",
                "slug",
                "brand__name",
                "primary_image__listing",
                "primary_image__alt_texts",
                "variant_ids",
            )
        )
        return rows, {"ids": ids}

    return compiled_query(("cards", country, language, published_until()), build)


def _among(ids: Slot) -> RawSQL:
    return RawSQL(
        '"catalog_product"."id" = ANY(%s::bigint[])', (ids.value,), output_field=BooleanField()
    )


def card_rows(context: MarketContext, product_ids: Sequence[int]) -> list[CardRow]:
    """The card rows of the visible products of ``product_ids`` with a text in the
    language, in that order (one query, planned once per connection)."""
    rows = _card_query(context.country, context.language).run(ids=list(product_ids))
    found = {}
    for pk, name, slug, brand, image, alt_texts, variant_ids in rows:
        if isinstance(alt_texts, str):
            alt_texts = json.loads(alt_texts)
        found[pk] = CardRow(pk, name, slug, brand, image, alt_texts, tuple(variant_ids or ()))
    return [found[pk] for pk in product_ids if pk in found]


# Search ranks at most this many matches (the newest: ten pages) and shows
# them; a word matching more says so, and the shopper narrows it with another
# word. It bounds the work of a word found in much of the catalogue.
SEARCH_LIMIT = 240


def search_results(context: MarketContext, text: str) -> list[int]:
    """Ids of the storefront products matching ``text``, best first: of the
    ``SEARCH_LIMIT`` + 1 newest matches (one more, so the page can tell there
    are more). Three or four queries, whatever the catalogue's size."""
    listing_id = context_listing_id(context)
    if listing_id is None or not text:
        return []
    # Reading a match through the index costs about as much as checking a product
    # while walking the listing: reading up to √(candidates × listing size)
    # matches keeps the worse of the two ways small.
    probe = math.isqrt((SEARCH_LIMIT + 1) * listing_size(listing_id))
    matches = search_matches(text, context.language, limit=max(probe, SEARCH_LIMIT + 1))
    if matches is None:  # a word in much of the catalogue: its newest products
        candidates = listing_newest(
            listing_id,
            context.language,
            limit=SEARCH_LIMIT + 1,
            condition=search_condition(text, context.language),
        )
    elif matches:
        candidates = listing_newest(
            listing_id, context.language, limit=SEARCH_LIMIT + 1, among=matches
        )
    else:
        return []
    # The candidates come from the listing: only whether they are still shown is checked.
    words, plain = rank_terms(text, context.language)
    rows = _rank_query(context.country, context.language).run(
        ids=list(candidates), words=words, plain=plain
    )
    return [pk for (pk,) in rows]


def _rank_query(country: str, language: str) -> CompiledQuery:
    """The SQL ranking search candidates (``products_ranked``), compiled like the cards'."""

    def build() -> tuple[QuerySet[Any], dict[str, Slot]]:
        ids, words, plain = Slot(), Slot(str), Slot(str)
        shown = visible_products(country, language).filter(_among(ids))
        ranked = products_ranked(shown, words.value, plain.value, language)
        return ranked.values_list("pk"), {"ids": ids, "words": words, "plain": plain}

    return compiled_query(("search rank", country, language, published_until()), build)
