"""Listings as a shopper sees them: the catalogue's products, priced and in stock here.

The catalogue decides what is visible and matches a search; pricing decides
what is priced, in stock and at what price a listing sorts. This module
composes the two for the storefront's listing pages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import QuerySet

from catalog.models import Product
from catalog.selectors import (
    products_in_categories,
    products_matching,
    products_with_attributes,
    visible_products,
)
from pricing.offers import PriceContext
from pricing.selectors import products_in_stock, products_priced, products_with_list_price
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

    @property
    def is_refined(self) -> bool:
        """Filtered or sorted: a variant of the listing that search engines need not index."""
        return self != ListingFilters()

    @property
    def needs_price(self) -> bool:
        return self.sort in {"price", "-price"} or (
            self.price_min is not None or self.price_max is not None
        )


def storefront_products(context: MarketContext) -> QuerySet[Product]:
    """Products a shopper in this context may see and buy (priced in the market)."""
    products = visible_products(context.country, context.language)
    return products_priced(products, PriceContext.from_market(context))


def category_products(context: MarketContext, category_ids: Sequence[int]) -> QuerySet[Product]:
    """Storefront products in any of ``category_ids``."""
    return products_in_categories(storefront_products(context), category_ids)


# Search ranks at most this many matches (the newest) and shows them; a word
# matching more says so, and the shopper narrows it with another word.
SEARCH_LIMIT = 1000


def search_products(context: MarketContext, text: str) -> QuerySet[Product]:
    """Storefront products matching ``text``, best first: of the ``SEARCH_LIMIT`` + 1
    newest matches (one more, so the page can tell there are more)."""
    return products_matching(
        storefront_products(context), text, context.language, candidates=SEARCH_LIMIT + 1
    )


def filtered(
    products: QuerySet[Product], context: MarketContext, filters: ListingFilters
) -> QuerySet[Product]:
    """Apply brand, attribute, price and stock filters and the sort order."""
    products = products_with_attributes(
        products, brand_ids=filters.brand_ids, attribute_value_ids=filters.attribute_value_ids
    )
    price = PriceContext.from_market(context)
    if filters.needs_price:
        products = products_with_list_price(products, price)
    if filters.price_min is not None:
        products = products.filter(list_price__gte=filters.price_min)  # type: ignore[misc]
    if filters.price_max is not None:
        products = products.filter(list_price__lte=filters.price_max)  # type: ignore[misc]
    if filters.in_stock_only:
        products = products_in_stock(products, price)
    return products.order_by(*SORTS.get(filters.sort, SORTS[DEFAULT_SORT]))
