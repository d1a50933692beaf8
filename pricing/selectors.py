"""Reads of pricing configuration, cached because every page needs them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import transaction

from pricing.models import MarketPriceList, MarketStockPool
from shop import versions
from shop.config_cache import config_cached
from shop.request_memo import forget, memoized

if TYPE_CHECKING:
    pass

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
