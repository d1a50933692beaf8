"""The listing table catches up with bulk changes through the real Celery task."""

from __future__ import annotations

import time

import pytest

from catalog.demo import generated_specs
from catalog.models import ProductChange
from pricing.derivation import derived_prices_rebuild
from pricing.listing_upkeep import listing_refresh
from pricing.models import ListingEntry, StockLevel
from pricing.services import stock_levels_zero
from pricing.tasks import listing_refresh as listing_refresh_task
from storefront.demo import demo_products_create
from tests.pricing.test_listing import assert_listing_equals_offers

# How long a bulk change of this test's size may take to reach the listings
# once the task runs (beat starts it every LISTING_REFRESH_SECONDS).
CATCH_UP_SECONDS = 15


# Celery's Django fix-up closes database connections when a worker starts: the test commits.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_bulk_stock_change_reaches_the_listings_through_the_worker(demo_shop, celery_worker):
    demo_products_create(list(generated_specs(120, prefix="BULK")))
    derived_prices_rebuild()
    listing_refresh()
    sold_out = StockLevel.objects.filter(variant__sku__startswith="BULK")
    in_stock_before = ListingEntry.objects.filter(in_stock=True).count()

    stock_levels_zero(sold_out)  # committed: the outbox holds the products
    assert ProductChange.objects.exists()
    started = time.monotonic()
    listing_refresh_task.delay()  # as beat does
    while ProductChange.objects.exists() and time.monotonic() - started < CATCH_UP_SECONDS:
        time.sleep(0.1)

    assert not ProductChange.objects.exists(), "the listing did not catch up in time"
    assert_listing_equals_offers()
    # Only products sold on backorder stay in stock.
    assert ListingEntry.objects.filter(in_stock=True).count() < in_stock_before / 2
