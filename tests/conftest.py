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
