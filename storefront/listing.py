"""Listings as a shopper sees them: the catalogue's products, priced and in stock here.

The catalogue decides what is visible and matches a search; pricing decides
what is priced, in stock and at what price a listing sorts. This module
composes the two for the storefront's listing pages.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL

from catalog.models import Product, published_until
from catalog.selectors import (
    active_variant_ids,
    attribute_labels,
    products_ranked,
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
from shop.db import planned_cursor

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


@dataclass(frozen=True)
class _CardQuery:
    sql: str
    params: tuple[object, ...]
    ids_at: int  # where the product ids go among ``params``


_card_queries: dict[tuple[str, str, datetime], _CardQuery] = {}
_card_queries_lock = threading.Lock()


def _card_query(country: str, language: str) -> _CardQuery:
    """The SQL of ``card_rows``, compiled once per country, language and minute (the
    catalogue's visibility rules read the minute) rather than on every listing page."""
    key = (country, language, published_until())
    with _card_queries_lock:
        found = _card_queries.get(key)
    if found is not None:
        return found
    marker: list[int] = []
    rows = (
        visible_products(country, language)
        .filter(
            RawSQL(
                '"catalog_product"."id" = ANY(%s::bigint[])', (marker,), output_field=BooleanField()
            )
        )
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
    sql, params = rows.query.sql_with_params()
    ids_at = next(at for at, param in enumerate(params) if param is marker)
    found = _CardQuery(sql, tuple(params), ids_at)
    with _card_queries_lock:
        for stale in [other for other in _card_queries if other[2] != key[2]]:
            del _card_queries[stale]
        _card_queries[key] = found
    return found


def card_rows(context: MarketContext, product_ids: Sequence[int]) -> list[CardRow]:
    """The card rows of the visible products of ``product_ids`` with a text in the
    language, in that order (one query, planned once per connection)."""
    query = _card_query(context.country, context.language)
    params: list[Any] = list(query.params)
    params[query.ids_at] = list(product_ids)
    with planned_cursor() as cursor:
        cursor.execute(query.sql, params)
        found = {}
        for pk, name, slug, brand, image, alt_texts, variant_ids in cursor.fetchall():
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
    shown = visible_products(context.country, context.language).filter(pk__in=candidates)
    ranked = products_ranked(shown, text, context.language)
    return list(ranked.values_list("pk", flat=True))
