"""The Trendyol adapter against the fake: authentication, limits, retries, paging."""

from __future__ import annotations

from decimal import Decimal

import pytest

from integrations.marketplaces.adapters.base import (
    PermanentError,
    PriceStockItem,
    RateLimited,
    TransientError,
)
from integrations.marketplaces.adapters.trendyol import TrendyolAdapter
from tests.integrations.marketplaces.fake_trendyol import (
    API_KEY,
    API_SECRET,
    SELLER_ID,
    FakeTrendyol,
)


def adapter(fake: FakeTrendyol, *, secret: str = API_SECRET) -> TrendyolAdapter:
    return TrendyolAdapter(
        seller_id=SELLER_ID, api_key=API_KEY, api_secret=secret, base_url=fake.url
    )


def item(barcode: str = "8690000000001", quantity: int = 5) -> PriceStockItem:
    return PriceStockItem(barcode, quantity, Decimal("100.00"), Decimal("120.00"))


def test_prices_go_with_basic_auth_and_the_user_agent_and_results_are_read(
    fake: FakeTrendyol,
) -> None:
    batch_id = adapter(fake).price_stock_push([item()])
    result = adapter(fake).batch_result(batch_id)
    assert result.done
    assert [(r.barcode, r.is_accepted) for r in result.items] == [("8690000000001", True)]
    assert fake.products["8690000000001"] == {"quantity": 5, "salePrice": 100.0, "listPrice": 120.0}


def test_a_wrong_secret_is_refused(fake: FakeTrendyol) -> None:
    with pytest.raises(PermanentError, match="401"):
        adapter(fake, secret="wrong").price_stock_push([item()])


def test_more_than_a_thousand_items_or_a_list_price_below_the_sale_price_are_refused(
    fake: FakeTrendyol,
) -> None:
    with pytest.raises(PermanentError, match="1000"):
        adapter(fake).price_stock_push([item(str(n)) for n in range(1001)])
    with pytest.raises(PermanentError, match="list price"):
        adapter(fake).price_stock_push([PriceStockItem("1", 1, Decimal("100"), Decimal("90"))])
    assert fake.requests == []  # refused before calling


def test_a_5xx_is_retried_and_a_long_429_is_raised(fake: FakeTrendyol) -> None:
    fake.fail_next.append((503, {}))
    assert adapter(fake).price_stock_push([item(quantity=1)])
    assert len(fake.requests) == 2
    fake.too_many(retry_after=30)
    with pytest.raises(RateLimited) as raised:
        adapter(fake).price_stock_push([item(quantity=2)])
    assert raised.value.retry_after == 30


def test_a_timeout_is_a_transient_error(fake: FakeTrendyol, settings: object) -> None:
    settings.MARKETPLACE_HTTP_TIMEOUT = 0.2  # type: ignore[attr-defined]
    fake.stall_next.extend([0.5, 0.5])
    with pytest.raises(TransientError, match="did not answer"):
        adapter(fake).price_stock_push([item()])


def test_batch_results_in_progress_are_not_done(fake: FakeTrendyol) -> None:
    fake.pending_polls = 1
    batch_id = adapter(fake).price_stock_push([item()])
    assert not adapter(fake).batch_result(batch_id).done
    assert adapter(fake).batch_result(batch_id).done


def test_orders_are_read_page_by_page(fake: FakeTrendyol, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("integrations.marketplaces.adapters.trendyol.ORDERS_PAGE_SIZE", 2)
    for package_id in range(1, 6):
        fake.package(package_id, lines=[{"barcode": "B", "quantity": 1, "price": 10.5}])
    from django.utils import timezone

    orders = list(
        adapter(fake).orders_pull(
            start=timezone.now() - timezone.timedelta(days=1), end=timezone.now()
        )
    )
    assert [order.external_id for order in orders] == ["1", "2", "3", "4", "5"]
    assert orders[0].lines[0].unit_price == Decimal("10.5")
    assert orders[0].shipping_address["city"] == "İstanbul"
    pages = [path for method, path, _ in fake.requests if method == "GET"]
    assert len(pages) == 3
