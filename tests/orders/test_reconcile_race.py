"""Reconciling stock measures the drift again under the level's lock: a drift read by
two runs at once is corrected once, not twice."""

from __future__ import annotations

import pytest

from orders.selectors import stock_drift
from orders.services import stock_drift_fix
from pricing.models import StockLevel
from tests.orders.factories import cart_with, order_from

pytestmark = pytest.mark.usefixtures("demo_shop")


def level(sku: str) -> StockLevel:
    return StockLevel.objects.get(variant__sku=sku, pool__code="rotterdam")


def test_a_stale_drift_is_applied_once():
    order_from(cart_with({"KRV-TEE-M": 2}))
    StockLevel.objects.filter(pk=level("KRV-TEE-M").pk).update(reserved=7)
    StockLevel.objects.filter(pk=level("KRV-TEE-L").pk).update(reserved=0, quantity=5)
    order_from(cart_with({"KRV-TEE-L": 1}))
    StockLevel.objects.filter(pk=level("KRV-TEE-L").pk).update(reserved=0)

    # Given two runs that both read the same drifts (reserved 7 for 2 open; 0 for 1 open)
    first_run = stock_drift()
    second_run = stock_drift()
    assert {(d.sku, d.difference) for d in first_run} == {("KRV-TEE-M", 5), ("KRV-TEE-L", -1)}

    # When both apply them
    assert all(stock_drift_fix(drift=drift) for drift in first_run)
    assert all(stock_drift_fix(drift=drift) for drift in second_run)

    # Then each level holds exactly its open reservations
    assert stock_drift() == []
    assert (level("KRV-TEE-M").reserved, level("KRV-TEE-L").reserved) == (2, 1)
