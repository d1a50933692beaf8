"""Marketplace adapters: one class per marketplace API, all speaking ``base.MarketplaceAdapter``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from integrations.marketplaces.adapters.base import MarketplaceAdapter, PermanentError
from integrations.marketplaces.adapters.trendyol import TrendyolAdapter

if TYPE_CHECKING:
    from integrations.marketplaces.models import Marketplace

ADAPTERS: dict[str, type[TrendyolAdapter]] = {"trendyol": TrendyolAdapter}


def adapter_for(marketplace: Marketplace) -> MarketplaceAdapter:
    """The adapter of ``marketplace``'s API, with its credentials."""
    adapter_class = ADAPTERS.get(marketplace.adapter)
    if adapter_class is None:
        raise PermanentError(f"No adapter {marketplace.adapter!r}.")
    return adapter_class(
        seller_id=marketplace.seller_id,
        api_key=marketplace.api_key,
        api_secret=marketplace.api_secret,
        base_url=marketplace.base_url,
    )


def max_items_for(marketplace: Marketplace) -> int:
    """The most items one request (prices and stock, or products) of this marketplace may carry."""
    adapter_class = ADAPTERS.get(marketplace.adapter)
    if adapter_class is None:
        raise PermanentError(f"No adapter {marketplace.adapter!r}.")
    return adapter_class.max_items
