"""Shared fixtures. The database is a real PostgreSQL (embedded unless DATABASE_URL is set)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache

from pricing.demo import pricing_demo_setup
from pricing.listing_index import listing_index_clear
from pricing.models import PriceList
from shop.cache import circuit_breakers_reset
from shop.config_cache import config_cache_clear
from shop.demo import markets_demo_setup
from shop.models import Market


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    """Each test starts with an empty, reachable cache (market directory, pages)."""
    circuit_breakers_reset()
    config_cache_clear()
    listing_index_clear()
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def celery_worker() -> Iterator[None]:
    """A real worker thread on the real Redis broker (tests using it must commit:
    ``django_db(transaction=True, serialized_rollback=True)``; without the
    serialized rollback, the flush after the test re-creates content types
    under new ids and breaks the next test that restores the database)."""
    from celery.contrib.testing.worker import start_worker

    from shop.celery import app as celery_app

    with start_worker(celery_app, pool="solo", perform_ping_check=False, loglevel="WARNING"):
        yield


@pytest.fixture
def demo_markets(db: None) -> dict[str, Market]:
    """Türkiye, Europe, United States (default) and United Kingdom, as in the demo."""
    markets = markets_demo_setup()
    cache.clear()
    return markets


@pytest.fixture
def demo_price_lists(demo_markets: dict[str, Market]) -> dict[str, PriceList]:
    """Demo tax and ECB rates (USD 1.08) and price lists: eur-retail by hand
    (German VAT included), usd-retail derived from it without tax, rounded to .99."""
    return pricing_demo_setup()


@pytest.fixture
def demo_shop(
    demo_markets: dict[str, Market], demo_price_lists: dict[str, PriceList]
) -> dict[str, Market]:
    """Demo markets with pricing, the category tree and the two reference items.

    KRV-TEE (S/M/L, EUR 29.90, TRY 999.90, in stock in both pools) and
    KRV-MUG (hidden in the US). No images, so it stays fast.
    """
    from catalog.demo import catalog_refresh, catalog_structure_create, reference_specs
    from pricing.derivation import derived_prices_rebuild
    from pricing.listing_upkeep import listing_refresh
    from storefront.demo import demo_products_create

    catalog_structure_create()
    demo_products_create(reference_specs())
    derived_prices_rebuild()
    catalog_refresh()
    listing_refresh()
    cache.clear()
    return demo_markets


@pytest.fixture
def checkout_shop(demo_shop: dict[str, Market]) -> dict[str, Market]:
    """The demo shop with delivery, rates, duty rules and payment methods: ready to sell."""
    from payments.demo import payments_demo_setup
    from shipping.demo import shipping_demo_setup

    shipping_demo_setup()
    payments_demo_setup()
    cache.clear()
    return demo_shop
