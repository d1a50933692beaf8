"""Bulk prices and stock: 10,000 rows in one call, all or nothing, row-level errors,
listings and derived lists following, Idempotency-Key replays."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from catalog.models import Product, Variant
from integrations.erp.models import IdempotencyRecord
from pricing.listing_upkeep import listing_refresh
from pricing.models import ListingEntry, PriceEntry, StockLevel
from tests.orders.factories import cart_with, order_from

pytestmark = pytest.mark.django_db

TEE = ["KRV-TEE-S", "KRV-TEE-M", "KRV-TEE-L"]


def _tee_listing() -> list[ListingEntry]:
    product = Product.objects.get(variants__sku="KRV-TEE-M")
    return list(ListingEntry.objects.filter(product=product))


def _many_variants(count: int) -> list[str]:
    product = Product.objects.get(variants__sku="KRV-TEE-M")
    skus = [f"ERP-{number:05d}" for number in range(count)]
    Variant.objects.bulk_create(Variant(product=product, sku=sku, position=9) for sku in skus)
    return skus


def test_ten_thousand_stock_rows_are_written_in_one_quick_call(demo_shop, erp_client):
    skus = _many_variants(9_997)
    rows = [{"sku": sku, "pool": "rotterdam", "quantity": 7} for sku in skus]
    rows += [{"sku": sku, "pool": "rotterdam", "quantity": 0} for sku in TEE]
    erp = erp_client(["stock:write"])
    assert len(rows) == 10_000

    started = time.monotonic()
    response = erp.post("/stock", {"rows": rows})
    elapsed = time.monotonic() - started

    assert response.status_code == 200, response.content[:500]
    assert response.json() == {"rows": 10_000, "changed": 10_000}
    assert elapsed < 10, f"10,000 stock rows took {elapsed:.1f} s"
    assert StockLevel.objects.filter(variant__sku__startswith="ERP-", quantity=7).count() == 9_997
    assert set(
        StockLevel.objects.filter(variant__sku__in=TEE, pool__code="rotterdam").values_list(
            "quantity", flat=True
        )
    ) == {0}


def test_stock_written_by_the_erp_reaches_the_listings(demo_shop, erp_client):
    assert all(entry.in_stock for entry in _tee_listing())
    rows = [
        {"sku": sku, "pool": pool, "quantity": 0}
        for sku in TEE
        for pool in ("rotterdam", "istanbul")
    ]

    response = erp_client(["stock:write"]).post("/stock", {"rows": rows})
    listing_refresh()

    assert response.status_code == 200
    entries = _tee_listing()
    assert entries
    assert not any(entry.in_stock for entry in entries)


def test_prices_written_by_the_erp_reach_listings_and_derived_lists(demo_shop, erp_client):
    usd_before = PriceEntry.objects.get(variant__sku="KRV-TEE-M", price_list__code="usd-retail")
    rows = [
        {"sku": sku, "price_list": "eur-retail", "amount": "19.90", "compare_at": "29.90"}
        for sku in TEE
    ]

    response = erp_client(["prices:write"]).post("/prices", {"rows": rows})
    listing_refresh()

    assert response.status_code == 200, response.content
    assert response.json() == {"rows": 3, "changed": 3}
    entry = PriceEntry.objects.get(variant__sku="KRV-TEE-M", price_list__code="eur-retail")
    assert (entry.amount, entry.compare_at_amount, entry.is_manual) == (
        Decimal("19.90"),
        Decimal("29.90"),
        True,
    )
    usd_after = PriceEntry.objects.get(variant__sku="KRV-TEE-M", price_list__code="usd-retail")
    assert usd_after.amount < usd_before.amount  # the derived list followed
    retail = [e for e in _tee_listing() if e.context.market.code == "eu"]
    assert {entry.price for entry in retail if entry.context.customer_group_id is None} == {
        Decimal("19.90")
    }
    # The dealers' list derives from retail (15% off): it followed too.
    assert {entry.price for entry in retail if entry.context.customer_group_id} == {
        Decimal("16.91")
    }


def test_ten_thousand_price_rows_in_one_call(demo_shop, erp_client):
    skus = _many_variants(10_000)
    rows = [{"sku": sku, "price_list": "try-retail", "amount": "123.45"} for sku in skus]

    started = time.monotonic()
    response = erp_client(["prices:write"]).post("/prices", {"rows": rows})
    elapsed = time.monotonic() - started

    assert response.status_code == 200, response.content[:500]
    assert elapsed < 10, f"10,000 price rows took {elapsed:.1f} s"
    assert (
        PriceEntry.objects.filter(price_list__code="try-retail", amount=Decimal("123.45")).count()
        == 10_000
    )


def test_one_bad_row_refuses_the_whole_call_with_row_errors(demo_shop, erp_client):
    before = list(StockLevel.objects.order_by("pk").values_list("pk", "quantity"))
    rows = [
        {"sku": "KRV-TEE-S", "pool": "rotterdam", "quantity": 3},
        {"sku": "NO-SUCH-SKU", "pool": "rotterdam", "quantity": 3},
        {"sku": "KRV-TEE-M", "pool": "atlantis", "quantity": 3},
        {"sku": "KRV-TEE-S", "pool": "rotterdam", "quantity": 4},
    ]

    response = erp_client(["stock:write"]).post("/stock", {"rows": rows})

    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_rows"
    assert body["errors"] == [
        {"row": 1, "field": "sku", "message": "No such SKU."},
        {"row": 2, "field": "pool", "message": "No such stock pool."},
        {
            "row": 3,
            "field": "sku",
            "message": "This SKU's stock in this pool is already in the call.",
        },
    ]
    assert list(StockLevel.objects.order_by("pk").values_list("pk", "quantity")) == before


def test_invalid_values_are_reported_by_row_and_change_nothing(demo_shop, erp_client):
    before = list(PriceEntry.objects.order_by("pk").values_list("pk", "amount"))
    rows = [
        {"sku": "KRV-TEE-S", "price_list": "eur-retail", "amount": "10"},
        {"sku": "KRV-TEE-M", "price_list": "eur-retail", "amount": "-1"},
        {"sku": "KRV-TEE-L", "price_list": "eur-retail", "amount": "1.23456"},
    ]

    response = erp_client(["prices:write"]).post("/prices", {"rows": rows})

    assert response.status_code == 422
    errors = response.json()["errors"]
    assert [(error["row"], error["field"]) for error in errors] == [(1, "amount"), (2, "amount")]
    assert list(PriceEntry.objects.order_by("pk").values_list("pk", "amount")) == before


def test_stock_below_what_orders_reserved_is_refused(checkout_shop, erp_client):
    order = order_from(cart_with({"KRV-TEE-M": 2}))
    line = order.lines.get()
    pool = line.ship_from_pool.code

    response = erp_client(["stock:write"]).post(
        "/stock", {"rows": [{"sku": "KRV-TEE-M", "pool": pool, "quantity": 1}]}
    )

    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"row": 0, "field": "quantity", "message": "Open orders have reserved 2 units."}
    ]


def test_an_idempotency_key_replays_the_first_answer(demo_shop, erp_client):
    erp = erp_client(["stock:write"])
    body = {"rows": [{"sku": "KRV-TEE-S", "pool": "rotterdam", "quantity": 11}]}

    first = erp.post("/stock", body, key="import-42")
    StockLevel.objects.filter(variant__sku="KRV-TEE-S", pool__code="rotterdam").update(quantity=5)
    replay = erp.post("/stock", body, key="import-42")

    assert first.status_code == replay.status_code == 200
    assert replay.json() == first.json() == {"rows": 1, "changed": 1}
    assert replay["Idempotent-Replayed"] == "true"
    level = StockLevel.objects.get(variant__sku="KRV-TEE-S", pool__code="rotterdam")
    assert level.quantity == 5  # the replay wrote nothing


def test_an_idempotency_key_with_another_body_is_refused(demo_shop, erp_client):
    erp = erp_client(["stock:write"])
    erp.post(
        "/stock", {"rows": [{"sku": "KRV-TEE-S", "pool": "rotterdam", "quantity": 11}]}, key="k1"
    )

    response = erp.post(
        "/stock", {"rows": [{"sku": "KRV-TEE-S", "pool": "rotterdam", "quantity": 12}]}, key="k1"
    )

    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    level = StockLevel.objects.get(variant__sku="KRV-TEE-S", pool__code="rotterdam")
    assert level.quantity == 11


def test_a_refusal_is_replayed_too_and_keys_expire(demo_shop, erp_client, settings):
    erp = erp_client(["stock:write"])
    body = {"rows": [{"sku": "NOPE", "pool": "rotterdam", "quantity": 1}]}

    first = erp.post("/stock", body, key="k2")
    replay = erp.post("/stock", body, key="k2")
    IdempotencyRecord.objects.update(created_at="2000-01-01T00:00:00Z")
    fresh = erp.post(
        "/stock", {"rows": [{"sku": "KRV-TEE-S", "pool": "rotterdam", "quantity": 1}]}, key="k2"
    )

    assert first.status_code == replay.status_code == 422
    assert replay["Idempotent-Replayed"] == "true"
    assert fresh.status_code == 200
    assert not fresh.has_header("Idempotent-Replayed")
