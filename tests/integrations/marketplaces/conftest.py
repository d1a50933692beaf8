"""Fixtures: a fake Trendyol and an active Trendyol marketplace on the demo shop's
Turkish market, listing the reference items, already in sync."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from catalog.models import Variant
from integrations.marketplaces.models import Adapter, Listing, Marketplace
from integrations.marketplaces.services import listings_add, marketplace_relay
from integrations.ratelimit import bucket_reset
from shop.models import Market
from tests.integrations.marketplaces.fake_trendyol import (
    API_KEY,
    API_SECRET,
    SELLER_ID,
    FakeTrendyol,
    fake_trendyol_server,
)

LISTED_SKUS = ("KRV-TEE-S", "KRV-TEE-M", "KRV-TEE-L", "KRV-MUG")


@pytest.fixture(autouse=True)
def _fast_http(settings: Any) -> None:
    """No real waiting in tests: one quick retry, no inline 429 waits."""
    settings.MARKETPLACE_HTTP_TIMEOUT = 2.0
    settings.MARKETPLACE_HTTP_RETRIES = 1
    settings.MARKETPLACE_HTTP_BACKOFF_SECONDS = 0.0
    settings.MARKETPLACE_HTTP_MAX_INLINE_WAIT = 0.0


@pytest.fixture
def fake() -> Iterator[FakeTrendyol]:
    with fake_trendyol_server() as server:
        yield server


def marketplace_create(
    fake: FakeTrendyol, *, market_code: str = "tr", **fields: object
) -> Marketplace:
    marketplace = Marketplace.objects.create(
        code=f"trendyol-{market_code}",
        name=f"Trendyol {market_code.upper()}",
        adapter=Adapter.TRENDYOL,
        market=Market.objects.get(code=market_code),
        seller_id=SELLER_ID,
        api_key=API_KEY,
        api_secret=API_SECRET,
        base_url=fake.url,
        requests_per_second=Decimal(100),
        request_burst=100,
        is_active=True,
        **fields,
    )
    bucket_reset(marketplace.bucket_key)
    return marketplace


@pytest.fixture
def trendyol(demo_shop: dict[str, Market], fake: FakeTrendyol) -> Marketplace:
    """Listed and sent once: the fake shows the storefront's prices (+10 %) and stock."""
    marketplace = marketplace_create(fake, price_adjustment_percent=Decimal(10))
    variant_ids = list(Variant.objects.filter(sku__in=LISTED_SKUS).values_list("pk", flat=True))
    listings_add(marketplace=marketplace, variant_ids=variant_ids)
    marketplace_relay(marketplace=marketplace)  # send
    marketplace_relay(marketplace=marketplace)  # read the results
    fake.requests.clear()
    return marketplace


def listing_of(marketplace: Marketplace, sku: str) -> Listing:
    return Listing.objects.select_related("variant").get(marketplace=marketplace, variant__sku=sku)
