"""Shared fixtures. The database is a real PostgreSQL (embedded unless DATABASE_URL is set)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache

from shop.management.commands.seed_demo import DEMO_MARKETS
from shop.models import Market
from shop.services import market_upsert


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    """Each test starts with an empty cache (market directory, pages)."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def demo_markets(db: None) -> dict[str, Market]:
    """Türkiye, Europe, United States (default) and United Kingdom, as in the demo."""
    markets = {spec["code"]: market_upsert(**spec) for spec in DEMO_MARKETS}
    cache.clear()
    return markets


@pytest.fixture
def demo_shop(demo_markets: dict[str, Market]) -> dict[str, Market]:
    """Demo markets with pricing, the category tree and the two reference items.

    KRV-TEE (S/M/L, EUR 29.90, TRY 999.90, in stock in both pools) and
    KRV-MUG (hidden in the US). No images, so it stays fast.
    """
    from catalog.demo import (
        catalog_refresh,
        catalog_structure_create,
        products_bulk_create,
        reference_specs,
    )
    from pricing.demo import pricing_demo_setup
    from shop.management.commands.seed_demo import DEMO_GROUPS
    from shop.services import customer_group_upsert

    for group in DEMO_GROUPS:
        customer_group_upsert(**group)
    pricing_demo_setup()
    catalog_structure_create()
    products_bulk_create(reference_specs())
    catalog_refresh()
    cache.clear()
    return demo_markets
