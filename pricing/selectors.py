"""Reads of pricing configuration, cached because every page needs them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Case, Exists, F, OuterRef, Q, QuerySet, Subquery, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from catalog.models import Product, Variant
from pricing.models import MarketPriceList, MarketStockPool, PriceEntry, StockLevel
from shop import versions
from shop.config_cache import config_cached
from shop.request_memo import forget, memoized

if TYPE_CHECKING:
    from pricing.offers import PriceContext

CONFIG_TIMEOUT = 60 * 10


@dataclass(frozen=True, slots=True)
class PriceListInfo:
    id: int
    code: str
    currency: str
    includes_tax: bool
    tax_country: str | None


@dataclass(frozen=True, slots=True)
class MarketPricing:
    """The price lists and stock pools a market uses."""

    market_id: int
    retail: PriceListInfo | None
    by_group: dict[int, PriceListInfo]
    pool_ids: tuple[int, ...]

    def price_lists_for(self, customer_group_id: int | None) -> tuple[PriceListInfo, ...]:
        """The lists to look in, in order of preference: the group's, then retail."""
        lists = []
        if customer_group_id is not None and customer_group_id in self.by_group:
            lists.append(self.by_group[customer_group_id])
        if self.retail is not None:
            lists.append(self.retail)
        return tuple(lists)


def pricing_config_changed() -> None:
    """Retire cached market pricing and tax tables once the transaction commits
    (after changes to which lists and pools markets use, or to tax rates)."""
    transaction.on_commit(_pricing_config_retire)


def _pricing_config_retire() -> None:
    forget("pricing:market:")
    versions.retire_now(versions.PRICING)


def market_pricing(market_id: int) -> MarketPricing:
    """The market's price lists and pools: from the cache, or two queries."""
    return memoized(f"pricing:market:{market_id}", lambda: _cached_market_pricing(market_id))


def _cached_market_pricing(market_id: int) -> MarketPricing:
    return config_cached(
        versions.PRICING,
        f"market:{market_id}",
        lambda: _load_market_pricing(market_id),
        timeout=CONFIG_TIMEOUT,
    )


def _load_market_pricing(market_id: int) -> MarketPricing:
    retail = None
    by_group: dict[int, PriceListInfo] = {}
    links = MarketPriceList.objects.filter(market_id=market_id).select_related("price_list")
    for link in links:
        price_list = link.price_list
        info = PriceListInfo(
            id=price_list.pk,
            code=price_list.code,
            currency=price_list.currency,
            includes_tax=price_list.includes_tax,
            tax_country=price_list.tax_country_id,
        )
        if link.customer_group_id is None:
            retail = info
        else:
            by_group[link.customer_group_id] = info
    pool_ids = tuple(
        MarketStockPool.objects.filter(market_id=market_id)
        .order_by("position", "id")
        .values_list("pool_id", flat=True)
    )
    return MarketPricing(market_id, retail, by_group, pool_ids)


# Product listings: which products are priced and in stock here, and at what
# price they sort. The catalogue builds listings; these narrow and order them.


def _list_ids(price: PriceContext) -> list[int]:
    config = market_pricing(price.market_id)
    return [
        info.id
        for info in config.price_lists_for(price.customer_group_id)
        if info.currency == price.currency
    ]


def products_priced(products: QuerySet[Product], price: PriceContext) -> QuerySet[Product]:
    """Products with an active variant priced in the context's lists (an EXISTS test)."""
    list_ids = _list_ids(price)
    if not list_ids:
        return products.none()
    priced = PriceEntry.objects.filter(
        price_list_id__in=list_ids, variant__product_id=OuterRef("pk"), variant__is_active=True
    )
    return products.filter(Exists(priced))


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


def products_with_list_price(products: QuerySet[Product], price: PriceContext) -> QuerySet[Product]:
    """Annotate ``list_price``: the lowest current amount in the context's lists.

    The group's list wins over retail; a running sale counts. Amounts of the
    market's lists are in its currency, so price filters and sorting use them.
    """
    at = timezone.now().replace(second=0, microsecond=0)
    prices = [_effective_list_price(list_id, at) for list_id in _list_ids(price)]
    if not prices:
        return products
    return products.annotate(list_price=Coalesce(*prices) if len(prices) > 1 else prices[0])


def products_in_stock(products: QuerySet[Product], price: PriceContext) -> QuerySet[Product]:
    """Products with a unit available in the market's pools, or sold on backorder."""
    pools = market_pricing(price.market_id).pool_ids
    stocked = StockLevel.objects.filter(
        variant__product_id=OuterRef("pk"),
        variant__is_active=True,
        pool_id__in=pools,
        quantity__gt=F("reserved"),
    )
    backorder = Variant.objects.filter(
        product_id=OuterRef("pk"), is_active=True, allows_backorder=True
    )
    return products.filter(Q(Exists(stocked)) | Q(Exists(backorder)))
