"""Stock reservations under real parallel database sessions."""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from catalog.models import Product, ProductType, TaxClass, Variant
from pricing.models import StockLevel, StockPool
from pricing.services import stock_release, stock_reserve

BUYERS = 8

# Committed data, so that other connections see it; restored afterwards like
# the other tests that commit (tests/shop/test_health.py).
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def last_unit():
    tax = TaxClass.objects.create(code="standard", name="Standard")
    product = Product.objects.create(
        product_type=ProductType.objects.create(name="Mug"), tax_class=tax
    )
    variant = Variant.objects.create(product=product, sku="RACE-1")
    near = StockPool.objects.create(code="near", name="Near")
    far = StockPool.objects.create(code="far", name="Far")
    StockLevel(variant=variant, pool=near, quantity=1).save()
    StockLevel(variant=variant, pool=far, quantity=0).save()
    return variant, [near.pk, far.pk]


def race(variant_id: int, pool_ids: list[int]) -> list[int | None]:
    """BUYERS threads, each with its own database connection, start together."""
    start = threading.Barrier(BUYERS)
    results: list[int | None] = []
    lock = threading.Lock()

    def buy() -> None:
        try:
            start.wait()
            pool = stock_reserve(variant_id=variant_id, pool_ids=pool_ids, quantity=1)
            with lock:
                results.append(pool)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=buy) for _ in range(BUYERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_of_many_buyers_of_the_last_unit_exactly_one_wins(last_unit):
    variant, pool_ids = last_unit

    results = race(variant.pk, pool_ids)

    assert len(results) == BUYERS
    assert results.count(pool_ids[0]) == 1
    assert results.count(None) == BUYERS - 1
    level = StockLevel.objects.get(variant=variant, pool_id=pool_ids[0])
    assert (level.quantity, level.reserved) == (1, 1)


def test_a_released_unit_can_be_reserved_again(last_unit):
    variant, pool_ids = last_unit
    assert stock_reserve(variant_id=variant.pk, pool_ids=pool_ids, quantity=1) == pool_ids[0]
    assert stock_reserve(variant_id=variant.pk, pool_ids=pool_ids, quantity=1) is None

    stock_release(variant_id=variant.pk, pool_id=pool_ids[0], quantity=1)

    assert stock_reserve(variant_id=variant.pk, pool_ids=pool_ids, quantity=1) == pool_ids[0]


def test_more_than_any_pool_holds_reserves_nothing(last_unit):
    variant, pool_ids = last_unit

    assert stock_reserve(variant_id=variant.pk, pool_ids=pool_ids, quantity=2) is None
    assert sum(StockLevel.objects.values_list("reserved", flat=True)) == 0


def test_a_non_positive_quantity_is_refused(last_unit):
    variant, pool_ids = last_unit

    with pytest.raises(ValueError, match="positive"):
        stock_reserve(variant_id=variant.pk, pool_ids=pool_ids, quantity=0)
