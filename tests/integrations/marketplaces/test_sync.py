"""Price and stock sync: outbox written with the change, relay sends only what changed,
in batches, through 429s, partial failures and crashes, never twice at once."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from integrations.marketplaces import services
from integrations.marketplaces.models import (
    BatchState,
    ListingState,
    Marketplace,
    SyncBatch,
    SyncEvent,
    SyncRejection,
)
from integrations.marketplaces.selectors import listing_targets, price_adjusted
from integrations.marketplaces.services import marketplace_relay, marketplace_resync_note
from orders.services import order_cancel, outbox_drain
from pricing.models import PriceEntry, PriceList, StockLevel
from pricing.offers import PriceContext, offers_for
from pricing.services import price_set, stock_set
from tests.integrations.marketplaces.conftest import listing_of, marketplace_create
from tests.integrations.marketplaces.fake_trendyol import FakeTrendyol
from tests.orders.factories import address_given, cart_with, order_from


def tr_stock_level(sku: str) -> StockLevel:
    return StockLevel.objects.get(variant__sku=sku, pool__code="istanbul")


def storefront_offer(marketplace: Marketplace, sku: str) -> object:
    listing = listing_of(marketplace, sku)
    market = marketplace.market
    context = PriceContext(
        market_id=market.pk,
        country=market.default_country_id,
        currency=market.currency,
        prices_include_tax=True,
    )
    return offers_for([listing.variant_id], context)[listing.variant_id]


@pytest.mark.django_db
def test_the_first_sync_sends_storefront_prices_adjusted_and_stock(
    trendyol: Marketplace, fake: FakeTrendyol
) -> None:
    # Given the fixture's first sync, when we look at what Trendyol shows
    offer = storefront_offer(trendyol, "KRV-TEE-M")
    listing = listing_of(trendyol, "KRV-TEE-M")
    shown = fake.products[listing.barcode]
    # then it is the storefront's TRY price + 10 %, rounded to kuruş, and the free stock
    assert offer.gross == Decimal("999.90")  # type: ignore[attr-defined]
    assert Decimal(str(shown["salePrice"])) == Decimal("1099.89")
    assert Decimal(str(shown["listPrice"])) >= Decimal(str(shown["salePrice"]))
    assert shown["quantity"] == offer.available_quantity  # type: ignore[attr-defined]
    assert listing.state == ListingState.ACTIVE
    assert SyncBatch.objects.get().state == BatchState.COMPLETED


@pytest.mark.django_db
def test_a_stock_change_through_the_admin_sends_exactly_one_batched_update(
    trendyol: Marketplace, fake: FakeTrendyol, admin_client: Client
) -> None:
    # Given KRV-TEE-M's stock in the Istanbul pool (the Turkish market's)
    level = tr_stock_level("KRV-TEE-M")
    barcode = listing_of(trendyol, "KRV-TEE-M").barcode
    # when staff change it on the stock level's admin page
    response = admin_client.post(
        f"/admin/pricing/stocklevel/{level.pk}/change/", {"quantity": 7, "_save": "Save"}
    )
    assert response.status_code == 302
    # then the change wrote a sync event with it, and one relay run sends one batch
    assert SyncEvent.objects.filter(marketplace=trendyol).exists()
    report = marketplace_relay(marketplace=trendyol)
    requests = fake.price_stock_requests()
    assert len(requests) == 1
    assert requests[0] == [
        {
            "barcode": barcode,
            "quantity": 7 - level.reserved,
            "salePrice": 1099.89,
            "listPrice": 1099.89,
        }
    ]
    assert report.batches_sent == 1
    assert fake.products[barcode]["quantity"] == 7 - level.reserved


@pytest.mark.django_db
def test_unchanged_items_are_not_sent(trendyol: Marketplace, fake: FakeTrendyol) -> None:
    # Given every listing in sync, when every product is queued again
    queued = marketplace_resync_note(marketplace=trendyol)
    report = marketplace_relay(marketplace=trendyol)
    # then nothing goes out
    assert queued == 2  # the tee and the mug
    assert report.items_unchanged == 4
    assert fake.price_stock_requests() == []
    assert not SyncEvent.objects.exists()


@pytest.mark.django_db
def test_a_rolled_back_change_writes_no_event(trendyol: Marketplace) -> None:
    level = tr_stock_level("KRV-TEE-S")
    with pytest.raises(RuntimeError), transaction.atomic():
        stock_set(variant=level.variant, pool_id=level.pool_id, quantity=1)
        raise RuntimeError
    assert not SyncEvent.objects.exists()


@pytest.mark.django_db
def test_a_429_is_retried_later_and_nothing_is_lost(
    trendyol: Marketplace, fake: FakeTrendyol
) -> None:
    # Given a stock change and Trendyol answering 429 (retry after a minute)
    level = tr_stock_level("KRV-TEE-L")
    stock_set(variant=level.variant, pool_id=level.pool_id, quantity=level.reserved + 3)
    fake.too_many(retry_after=60)
    # when the relay runs
    first = marketplace_relay(marketplace=trendyol)
    # then the batch waits its minute, the event is consumed but the item kept
    batch = SyncBatch.objects.filter(state=BatchState.WAITING).get()
    assert "slow down" in first.deferred
    assert batch.next_attempt_at is not None
    assert batch.next_attempt_at > timezone.now() + timezone.timedelta(seconds=50)
    assert marketplace_relay(marketplace=trendyol).batches_sent == 0  # still waiting
    # and once the time has come, it is sent
    SyncBatch.objects.filter(pk=batch.pk).update(next_attempt_at=timezone.now())
    assert marketplace_relay(marketplace=trendyol).batches_sent == 1
    barcode = listing_of(trendyol, "KRV-TEE-L").barcode
    assert fake.products[barcode]["quantity"] == 3


@pytest.mark.django_db
def test_a_partial_failure_records_the_rejection_with_the_reason(
    trendyol: Marketplace, fake: FakeTrendyol
) -> None:
    # Given Trendyol refusing the mug, and new prices for the mug and a tee
    mug, tee = listing_of(trendyol, "KRV-MUG"), listing_of(trendyol, "KRV-TEE-S")
    fake.refuse[mug.barcode] = "Ürün kilitli olduğu için güncellenemez."
    try_retail = PriceList.objects.get(code="try-retail")
    for listing in (mug, tee):
        price_set(price_list=try_retail, variant_id=listing.variant_id, amount=Decimal("1200.00"))
    # when the relay sends and then reads the batch's results
    marketplace_relay(marketplace=trendyol)
    report = marketplace_relay(marketplace=trendyol)
    # then the mug's rejection is recorded with Trendyol's reason, the tee is accepted
    rejection = SyncRejection.objects.get()
    assert (rejection.barcode, rejection.reason) == (
        mug.barcode,
        "Ürün kilitli olduğu için güncellenemez.",
    )
    assert report.rejections == 1
    mug.refresh_from_db()
    tee.refresh_from_db()
    assert mug.state == ListingState.REJECTED
    assert mug.last_sent_price is None  # sent again with the next change
    assert tee.state == ListingState.ACTIVE
    assert tee.last_sent_price == Decimal("1320.00")
    assert SyncBatch.objects.order_by("-pk").first().failed_count == 1  # type: ignore[union-attr]


@pytest.mark.django_db
def test_a_crash_after_sending_re_sends_once_and_ends_right(
    trendyol: Marketplace, fake: FakeTrendyol, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a stock change, and a crash right after Trendyol took the request
    level = tr_stock_level("KRV-TEE-M")
    stock_set(variant=level.variant, pool_id=level.pool_id, quantity=level.reserved + 11)
    original = services.batch_sent

    def crash(batch: SyncBatch, remote_id: str) -> None:
        raise RuntimeError("worker killed")

    monkeypatch.setattr(services, "batch_sent", crash)
    with pytest.raises(RuntimeError):
        marketplace_relay(marketplace=trendyol)
    batch = SyncBatch.objects.get(state=BatchState.SENDING)
    assert not SyncEvent.objects.exists()  # the change is in the batch, not lost
    # when the next run comes (the worker is back)
    monkeypatch.setattr(services, "batch_sent", original)
    fake.reject_duplicates = False
    marketplace_relay(marketplace=trendyol)
    marketplace_relay(marketplace=trendyol)
    # then the batch was sent once more, and Trendyol shows the change
    barcode = listing_of(trendyol, "KRV-TEE-M").barcode
    assert len(fake.price_stock_requests()) == 2
    assert fake.products[barcode]["quantity"] == 11
    batch.refresh_from_db()
    assert batch.state == BatchState.COMPLETED
    assert batch.attempts == 2


@pytest.mark.django_db
def test_a_re_send_trendyol_calls_a_duplicate_closes_the_batch(
    trendyol: Marketplace, fake: FakeTrendyol, monkeypatch: pytest.MonkeyPatch
) -> None:
    level = tr_stock_level("KRV-TEE-S")
    stock_set(variant=level.variant, pool_id=level.pool_id, quantity=level.reserved + 2)
    monkeypatch.setattr(services, "batch_sent", lambda batch, remote_id: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        marketplace_relay(marketplace=trendyol)
    monkeypatch.undo()
    report = marketplace_relay(marketplace=trendyol)
    # Trendyol refuses the identical request within 15 minutes: the first one counted
    assert report.batches_completed == 1
    assert SyncBatch.objects.filter(state=BatchState.COMPLETED).count() == 2
    assert fake.products[listing_of(trendyol, "KRV-TEE-S").barcode]["quantity"] == 2


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_relays_do_not_send_twice(trendyol: Marketplace, fake: FakeTrendyol) -> None:
    # Given a change, and Trendyol slow to answer the first request
    level = tr_stock_level("KRV-TEE-S")
    stock_set(variant=level.variant, pool_id=level.pool_id, quantity=level.reserved + 5)
    fake.stall_next.append(0.5)
    reports: list[services.RelayReport] = []

    def run() -> None:
        try:
            reports.append(marketplace_relay(marketplace=Marketplace.objects.get(pk=trendyol.pk)))
        finally:
            connection.close()

    # when two relays run at once
    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then one sent the change and the other stood aside
    assert len(fake.price_stock_requests()) == 1
    assert sorted(report.busy for report in reports) == [False, True]
    assert SyncBatch.objects.filter(state=BatchState.SENT).count() == 1


@pytest.mark.django_db
def test_more_than_a_thousand_changes_go_in_batches_of_a_thousand(
    trendyol: Marketplace, fake: FakeTrendyol, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "adapter_max_items", lambda marketplace: 3)
    # Given all four listings changed (sent in batches of at most 3 here)
    for listing in trendyol.listings.all():
        listing.last_sent_quantity = -1
        listing.save(update_fields=["last_sent_quantity"])
    marketplace_resync_note(marketplace=trendyol)
    marketplace_relay(marketplace=trendyol)
    assert [len(items) for items in fake.price_stock_requests()] == [3, 1]


def test_price_adjustment_rounds_to_the_currency_minor_unit() -> None:
    assert price_adjusted(Decimal("999.90"), percent=Decimal(10), currency="TRY") == Decimal(
        "1099.89"
    )
    assert price_adjusted(Decimal("19.99"), percent=Decimal("12.5"), currency="EUR") == Decimal(
        "22.49"
    )
    assert price_adjusted(Decimal("1999"), percent=Decimal(7), currency="JPY") == Decimal("2139")
    assert price_adjusted(Decimal("5.125"), percent=Decimal(0), currency="KWD") == Decimal("5.125")
    assert price_adjusted(Decimal("100"), percent=Decimal(-15), currency="TRY") == Decimal("85.00")


@pytest.mark.django_db
def test_list_price_is_never_below_the_sale_price(trendyol: Marketplace) -> None:
    # Given a sale on KRV-TEE-M with a compare-at price
    listing = listing_of(trendyol, "KRV-TEE-M")
    entry = PriceEntry.objects.get(price_list__code="try-retail", variant=listing.variant)
    entry.sale_amount = Decimal("799.90")
    entry.save(update_fields=["sale_amount"])
    target = listing_targets(trendyol, [listing])[listing.pk]
    assert target.sale_price == Decimal("879.89")
    assert target.list_price == Decimal("1099.89")


@pytest.mark.django_db
def test_an_exchange_rate_update_queues_derived_prices_for_marketplaces(
    demo_shop: dict[str, object], fake: FakeTrendyol
) -> None:
    from catalog.models import Variant
    from pricing.derivation import derived_prices_rebuild
    from pricing.rates import ReferenceRates, rates_store

    # Given a marketplace selling the US market (USD prices derived from EUR)
    marketplace = marketplace_create(fake, market_code="us")
    services.listings_add(
        marketplace=marketplace,
        variant_ids=list(Variant.objects.filter(sku="KRV-TEE-M").values_list("pk", flat=True)),
    )
    marketplace_relay(marketplace=marketplace)
    before = fake.price_stock_requests()[-1][0]["salePrice"]
    # when the USD rate moves and derived prices are recomputed
    rates_store(ReferenceRates(effective_date=timezone.localdate(), rates={"USD": Decimal("1.30")}))
    derived_prices_rebuild()
    # then the marketplace got an event and the relay sends the new price
    assert SyncEvent.objects.filter(marketplace=marketplace).exists()
    marketplace_relay(marketplace=marketplace)
    after = fake.price_stock_requests()[-1][0]["salePrice"]
    assert Decimal(str(after)) > Decimal(str(before))


@pytest.mark.django_db
def test_inactive_marketplaces_get_no_events(trendyol: Marketplace) -> None:
    Marketplace.objects.filter(pk=trendyol.pk).update(is_active=False)
    level = tr_stock_level("KRV-TEE-M")
    stock_set(variant=level.variant, pool_id=level.pool_id, quantity=level.quantity + 1)
    assert not SyncEvent.objects.exists()


@pytest.mark.django_db
def test_batching_runs_the_same_queries_for_one_or_many_changes(
    trendyol: Marketplace, fake: FakeTrendyol
) -> None:
    from django.db import connection as db
    from django.test.utils import CaptureQueriesContext

    def queries_to_batch(skus: list[str]) -> int:
        for sku in skus:
            listing = listing_of(trendyol, sku)
            listing.last_sent_quantity = -1
            listing.save(update_fields=["last_sent_quantity"])
        marketplace_resync_note(marketplace=trendyol)
        report = services.RelayReport(marketplace=trendyol.code)
        with CaptureQueriesContext(db) as captured:
            services.events_batch(marketplace=trendyol, report=report)
        assert report.items_queued == len(skus)
        SyncBatch.objects.filter(state=BatchState.SENDING).delete()
        return len(captured)

    queries_to_batch(["KRV-TEE-L"])  # the market and its pricing are read once, then kept
    # Savepoint, events, listings, prices, stock, batch, listings update, delete, release:
    # the same whether one listing or all of them changed.
    assert queries_to_batch(["KRV-TEE-M"]) == 9
    assert queries_to_batch(["KRV-TEE-S", "KRV-TEE-M", "KRV-TEE-L", "KRV-MUG"]) == 9


@pytest.mark.django_db
def test_a_storefront_order_and_its_cancellation_move_the_marketplace_stock(
    trendyol: Marketplace, fake: FakeTrendyol
) -> None:
    # Given KRV-TEE-M in sync on Trendyol
    barcode = listing_of(trendyol, "KRV-TEE-M").barcode
    before = fake.products[barcode]["quantity"]
    # when a shopper of the Turkish storefront orders two (a few units stay in the pool)
    cart = address_given(
        cart_with({"KRV-TEE-M": 2}, market="tr", language="tr"),
        line1="İstiklal Caddesi 1",
        city="İstanbul",
        district="Beyoğlu",
        postal_code="34430",
        country_id="TR",
    )
    order = order_from(cart)
    outbox_drain()
    marketplace_relay(marketplace=trendyol)
    # then Trendyol may sell two fewer, at once
    assert fake.products[barcode]["quantity"] == before - 2
    # and when the order is cancelled, they are for sale there again
    order_cancel(order=order, by="staff")
    outbox_drain()
    marketplace_relay(marketplace=trendyol)  # read the last batch's results
    marketplace_relay(marketplace=trendyol)
    assert fake.products[barcode]["quantity"] == before
