"""Marketplace orders: imported once into the order list, stock reserved, refusals kept."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client

from integrations.marketplaces.models import ImportState, Marketplace, OrderImport
from integrations.marketplaces.services import (
    marketplace_orders_import,
    marketplace_tracking_send,
)
from orders.models import Order, OrderStatus, StockReservation
from orders.services import ImportedLine, ImportedOrder, order_import, shipment_create
from pricing.models import StockLevel
from tests.integrations.marketplaces.conftest import listing_of
from tests.integrations.marketplaces.fake_trendyol import FakeTrendyol


def istanbul_level(sku: str) -> StockLevel:
    return StockLevel.objects.get(variant__sku=sku, pool__code="istanbul")


@pytest.mark.django_db
def test_an_order_is_imported_once_with_its_channel_and_stock_reserved(
    trendyol: Marketplace, fake: FakeTrendyol, admin_client: Client
) -> None:
    # Given a Trendyol package of two KRV-TEE-M at the marketplace's price
    barcode = listing_of(trendyol, "KRV-TEE-M").barcode
    reserved_before = istanbul_level("KRV-TEE-M").reserved
    fake.package(7001, lines=[{"barcode": barcode, "quantity": 2, "price": 1099.89, "vat": 20}])
    # when orders are imported, twice
    first = marketplace_orders_import(marketplace=trendyol)
    second = marketplace_orders_import(marketplace=trendyol)
    # then one paid order exists, from the trendyol-tr channel, with its stock reserved
    order = Order.objects.get()
    assert (first.imported, second.imported, second.already) == (1, 0, 1)
    assert (order.channel, order.external_reference) == ("trendyol-tr", "7001")
    assert order.status == OrderStatus.PAID
    assert order.total_gross == Decimal("2199.78")
    line = order.lines.get()
    assert (line.quantity, line.unit_gross, line.tax_rate) == (2, Decimal("1099.89"), 20)
    assert line.unit_net + line.unit_tax == line.unit_gross
    reservation = StockReservation.objects.get(order_line=line)
    assert (reservation.quantity, reservation.state, reservation.expires_at) == (2, "open", None)
    assert istanbul_level("KRV-TEE-M").reserved == reserved_before + 2
    # and Trendyol was told the package is being picked, once
    record = OrderImport.objects.get()
    assert record.acknowledged
    assert [body["status"] for _, body in fake.package_updates] == ["Picking"]
    # and the order list shows the channel
    page = admin_client.get("/admin/orders/order/", {"channel": "trendyol-tr"})
    assert page.status_code == 200
    assert order.number in page.content.decode()
    assert "trendyol-tr" in page.content.decode()


@pytest.mark.django_db
def test_an_order_without_stock_is_kept_as_a_rejected_import(
    trendyol: Marketplace, fake: FakeTrendyol
) -> None:
    barcode = listing_of(trendyol, "KRV-TEE-S").barcode
    free = istanbul_level("KRV-TEE-S").quantity - istanbul_level("KRV-TEE-S").reserved
    fake.package(7002, lines=[{"barcode": barcode, "quantity": free + 1, "price": 1099.89}])
    report = marketplace_orders_import(marketplace=trendyol)
    record = OrderImport.objects.get()
    assert report.rejected == 1
    assert record.state == ImportState.REJECTED
    assert "Not enough stock" in record.reason
    assert not Order.objects.exists()
    assert fake.package_updates == []  # not taken over
    # once stock arrives, the next run imports it
    level = istanbul_level("KRV-TEE-S")
    StockLevel.objects.filter(pk=level.pk).update(quantity=level.quantity + 10)
    assert marketplace_orders_import(marketplace=trendyol).imported == 1
    record.refresh_from_db()
    assert (record.state, record.attempts) == (ImportState.IMPORTED, 1)


@pytest.mark.django_db
def test_an_unknown_barcode_is_a_rejected_import(trendyol: Marketplace, fake: FakeTrendyol) -> None:
    fake.package(7003, lines=[{"barcode": "NOT-LISTED", "quantity": 1, "price": 10}])
    marketplace_orders_import(marketplace=trendyol)
    assert OrderImport.objects.get().reason == "Not listed here: NOT-LISTED."
    assert not Order.objects.exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_same_order_imported_concurrently_is_stored_once(
    trendyol: Marketplace,
) -> None:
    variant_id = listing_of(trendyol, "KRV-TEE-L").variant_id
    imported = ImportedOrder(
        channel="trendyol-tr",
        external_reference="9001",
        market_id=trendyol.market_id,
        currency="TRY",
        email="pf@trendyolmail.com",
        shipping_address={
            "first_name": "A",
            "last_name": "B",
            "line1": "X",
            "city": "Y",
            "country": "TR",
        },
        lines=(
            ImportedLine(
                variant_id=variant_id, quantity=1, unit_gross=Decimal("100"), tax_rate=Decimal(20)
            ),
        ),
    )
    barrier = threading.Barrier(2)
    outcomes: list[bool] = []

    def run() -> None:
        try:
            barrier.wait()
            outcomes.append(order_import(imported=imported, by="test")[1])
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == [False, True]
    assert Order.objects.filter(channel="trendyol-tr", external_reference="9001").count() == 1
    assert StockReservation.objects.count() == 1


@pytest.mark.django_db
def test_a_shipped_marketplace_order_sends_its_tracking_number(
    trendyol: Marketplace, fake: FakeTrendyol
) -> None:
    barcode = listing_of(trendyol, "KRV-TEE-M").barcode
    fake.package(7004, lines=[{"barcode": barcode, "quantity": 1, "price": 1099.89}])
    marketplace_orders_import(marketplace=trendyol)
    order = Order.objects.get()
    shipment = shipment_create(
        order=order,
        lines={order.lines.get().pk: 1},
        method_id=None,
        tracking_number="YK123456",
        by="staff",
        carrier="Yurtiçi",
    )
    assert marketplace_tracking_send(shipment_id=shipment.pk)
    assert fake.package_updates[-1] == ("7004", {"trackingNumber": "YK123456"})


@pytest.mark.django_db
def test_the_demo_marketplace_is_inactive_and_lists_the_reference_items(
    demo_shop: dict[str, object],
) -> None:
    from integrations.marketplaces.demo import marketplaces_demo_setup
    from integrations.marketplaces.models import SyncEvent

    marketplace = marketplaces_demo_setup()
    again = marketplaces_demo_setup()
    assert marketplace is not None and again is not None and again.pk == marketplace.pk
    assert not marketplace.is_active
    assert marketplace.market.code == "tr"
    assert marketplace.listings.count() == 4
    assert not SyncEvent.objects.exists()  # inactive: nothing is queued
