"""Reads of the listing table: which products a listing shows, in what order, how many.

The one door through which listings sort and filter by price and stock: rows
are derived from ``offers_for`` (``pricing.listing_upkeep``), so a listing
sorts by the price its cards show. Every read is one query on the table's
indexes: price sorts and filters walk ``listing_by_price``, the newest first
``listing_by_date``, category and facet filters use the GIN index.

Deep pages and large counts are bounded (``MAX_RESULTS``): a listing shows
at most that many products, and a count above it is reported as "more than".
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from django.core.cache import cache
from django.db import connection
from django.db.models import Exists, OuterRef, QuerySet

from catalog.models import Product
from pricing.listing_index import listing_index
from pricing.listing_upkeep import language_bit
from pricing.models import ListingContext, ListingEntry
from shop import versions
from shop.config_cache import config_cached

# A listing pages through at most this many products; past it, shoppers narrow
# it with filters (the page says so) and counting stops there.
MAX_RESULTS = 2400

SORT_ORDERS = {
    "newest": "l.published_at DESC, l.product_id DESC",
    "price": "l.price, l.product_id",
    "-price": "l.price DESC, l.product_id DESC",
    "name": "t.name, t.product_id",
}
# The same orders as expressions no index provides: PostgreSQL then finds the
# rows by the filters' indexes and sorts them, instead of walking the whole
# listing in order and skipping what does not match (slow for a small
# category whose products all sit at one end of the price range).
SORTED_ORDERS = {
    "newest": "(l.published_at + interval '0 s') DESC, l.product_id DESC",
    "price": "(l.price + 0), l.product_id",
    "-price": "(l.price + 0) DESC, l.product_id DESC",
    "name": "(t.name || ''), t.product_id",
}
# A listing holding less than this share of the context's products is sorted
# rather than walked in index order.
DENSE_SHARE = 0.25


T = TypeVar("T")
LISTING_TIMEOUT = 60 * 60


def listing_cached(
    kind: str, identity: tuple[object, ...], concerns: Sequence[str], load: Callable[[], T]
) -> T:
    """``load()``'s result, cached until one of ``concerns`` (versions) moves on."""
    numbers = versions.versions(concerns)
    if not versions.is_known(numbers):
        return load()
    digest = hashlib.sha256(repr((identity, sorted(numbers.items()))).encode()).hexdigest()
    key = f"listing:{kind}:{digest[:32]}"
    value: T | None = cache.get(key)
    if value is None:
        value = load()
        cache.set(key, value, LISTING_TIMEOUT)
    return value


def listing_context_id(market_id: int, country: str, customer_group_id: int | None) -> int | None:
    """The listing context of a shopper: the group's when it has its own prices here."""
    contexts = config_cached(
        (versions.PRICING, versions.MARKETS),
        "listing-contexts",
        lambda: {
            (row.market_id, row.country_id, row.customer_group_id): row.pk
            for row in ListingContext.objects.all()
        },
        timeout=60 * 10,
    )
    own = contexts.get((market_id, country, customer_group_id))
    if own is not None or customer_group_id is None:
        return own
    return contexts.get((market_id, country, None))


@dataclass(frozen=True)
class ListingQuery:
    """Which rows of a context's listing: all conditions must hold.

    ``value_groups``: each group is a set of attribute values of which one must
    match (values of one attribute widen the choice, attributes narrow it).
    """

    context_id: int
    language: str
    category_ids: tuple[int, ...] | None = None  # any of them; None: every category
    brand_ids: tuple[int, ...] = ()
    value_groups: tuple[tuple[int, ...], ...] = ()
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    in_stock_only: bool = False

    def where(self) -> tuple[str, list[Any]]:
        conditions = ["l.context_id = %s::bigint", "l.languages & %s <> 0"]
        params: list[Any] = [self.context_id, language_bit(self.language)]
        if self.category_ids is not None:
            conditions.append("l.category_ids && %s::bigint[]")
            params.append(list(self.category_ids))
        if self.brand_ids:
            conditions.append("l.brand_id = ANY(%s::bigint[])")
            params.append(list(self.brand_ids))
        for group in self.value_groups:
            conditions.append("l.value_ids && %s::bigint[]")
            params.append(list(group))
        if self.price_min is not None:
            conditions.append("l.price >= %s")
            params.append(self.price_min)
        if self.price_max is not None:
            conditions.append("l.price <= %s")
            params.append(self.price_max)
        if self.in_stock_only:
            conditions.append("l.in_stock")
        return " AND ".join(conditions), params

    @property
    def uses_prices(self) -> bool:
        """Whether the rows it selects change with prices or stock."""
        return self.in_stock_only or self.price_min is not None or self.price_max is not None


def listing_product_ids(
    query: ListingQuery,
    sort: str,
    *,
    offset: int,
    limit: int,
    share: float = 1.0,
    indexed: bool = True,
) -> list[int]:
    """Product ids of one page of the listing, in ``sort`` order: from the process's
    index (``pricing.listing_index``), else (or with ``indexed=False``) one query.

    ``share``: about which part of the context's products the listing holds
    (a category's size over the context's); the query sorts small listings.
    """
    limit = max(0, min(limit, MAX_RESULTS - offset))
    index = listing_index(query.context_id) if indexed else None
    if index is not None:
        return index.page(query, sort, offset=offset, limit=limit)
    where, params = query.where()
    join = ""
    if sort == "name":
        join = (
            "JOIN catalog_producttranslation t ON t.product_id = l.product_id AND t.language = %s"
        )
        params = [query.language, *params]
    orders = SORT_ORDERS if share >= DENSE_SHARE else SORTED_ORDERS
    order = orders.get(sort, orders["newest"])
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT l.product_id FROM pricing_listingentry l {join} "  # noqa: S608 - fixed SQL
            f"WHERE {where} ORDER BY {order} LIMIT %s OFFSET %s",
            [*params, limit, offset],
        )
        return [row[0] for row in cursor.fetchall()]


def listing_count(query: ListingQuery, *, at_most: int = MAX_RESULTS, indexed: bool = True) -> int:
    """How many products the listing has, counted up to ``at_most`` + 1 (by the index,
    else one query): a result above ``at_most`` means "more than"."""
    index = listing_index(query.context_id) if indexed else None
    if index is not None:
        return min(index.count(query), at_most + 1)
    where, params = query.where()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM (SELECT 1 FROM pricing_listingentry l "  # noqa: S608
            f"WHERE {where} LIMIT %s) AS counted",
            [*params, at_most + 1],
        )
        return int(cursor.fetchone()[0])


def listing_counts(query: ListingQuery, *, indexed: bool = True) -> list[tuple[str, int, int]]:
    """The listing's size, and its products per brand and per attribute value
    (kind, id, count), by the index or in one query over its rows."""
    index = listing_index(query.context_id) if indexed else None
    if index is not None:
        return index.counts(query)
    where, params = query.where()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH listed AS MATERIALIZED (
                SELECT l.brand_id, l.value_ids FROM pricing_listingentry l WHERE {where}
            )
            SELECT 'total', 0, count(*) FROM listed
            UNION ALL
            SELECT 'brand', brand_id, count(*) FROM listed
                WHERE brand_id IS NOT NULL GROUP BY brand_id
            UNION ALL
            SELECT 'value', value_id, count(*) FROM listed, unnest(listed.value_ids) AS value_id
                GROUP BY value_id
            """,  # noqa: S608 - only the fixed conditions are interpolated
            params,
        )
        return [(kind, int(key), int(count)) for kind, key, count in cursor.fetchall()]


def listing_size(context_id: int) -> int:
    """How many products the context lists (kept in memory until its members change)."""

    def count() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pricing_listingentry WHERE context_id = %s", [context_id]
            )
            return int(cursor.fetchone()[0])

    index = listing_index(context_id)
    if index is not None:
        return index.size
    return config_cached(versions.listing_members(context_id), f"listing-size:{context_id}", count)


def category_counts(
    context_id: int, language: str, category_ids: Sequence[int]
) -> list[tuple[str, int, int]]:
    """``listing_counts`` of a whole category (``category_ids``: its subtree): counted
    once per process and version of the listing by its index, which keeps them."""
    query = ListingQuery(context_id=context_id, language=language, category_ids=tuple(category_ids))
    index = listing_index(context_id)
    if index is not None:
        return index.counts_kept(query)
    return listing_counts(query, indexed=False)


def products_listed(products: QuerySet[Product], context_id: int) -> QuerySet[Product]:
    """``products`` that have a row in the context's listing (an index lookup each)."""
    listed = ListingEntry.objects.filter(context_id=context_id, product_id=OuterRef("pk"))
    return products.filter(Exists(listed))


def listing_price_deciles(context_id: int) -> list[Decimal]:
    """The listing's prices at 10 %, 20 % … 90 % (one query)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT unnest(percentile_disc(ARRAY[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])
                WITHIN GROUP (ORDER BY price))
            FROM pricing_listingentry WHERE context_id = %s
            """,
            [context_id],
        )
        return [price for (price,) in cursor.fetchall() if price is not None]


def listing_newest(
    context_id: int,
    language: str,
    *,
    limit: int,
    among: list[int] | None = None,
    condition: tuple[str, list[Any]] | None = None,
    indexed: bool = True,
) -> list[int]:
    """The newest products of the context's listing (one query): of ``among``, or
    walking the listing newest first and keeping those for which ``condition``
    holds (SQL with ``{product}`` for the product id column), at most ``limit``."""
    if indexed and among is not None and condition is None:
        index = listing_index(context_id)
        if index is not None:
            query = ListingQuery(context_id=context_id, language=language)
            return index.newest_of(query, among, limit)
    conditions = ["l.context_id = %s::bigint", "l.languages & %s <> 0"]
    params: list[Any] = [context_id, language_bit(language)]
    if among is not None:
        conditions.append("l.product_id = ANY(%s::bigint[])")
        params.append(among)
    if condition is not None:
        sql, condition_params = condition
        conditions.append(sql.format(product="l.product_id"))
        params.extend(condition_params)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT l.product_id FROM pricing_listingentry l "  # noqa: S608 - fixed SQL
            f"WHERE {' AND '.join(conditions)} "
            "ORDER BY l.published_at DESC, l.product_id DESC LIMIT %s",
            [*params, limit],
        )
        return [product_id for (product_id,) in cursor.fetchall()]
