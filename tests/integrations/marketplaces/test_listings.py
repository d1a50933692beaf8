"""Creating products on a marketplace: built from the catalogue in the market's language,
mapped to the marketplace's categories and attributes, priced exactly as the price
and stock sync prices them, sent in batches through the relay's queue; what cannot
be sent, and what the marketplace refuses, is recorded with the reason."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.models import Attribute, Category, Product, ProductImage, Variant
from integrations.marketplaces import services, tasks
from integrations.marketplaces.adapters import adapter_for
from integrations.marketplaces.models import (
    AttributeMapping,
    BatchKind,
    BatchState,
    CategoryMapping,
    Listing,
    ListingState,
    Marketplace,
    SyncBatch,
    SyncRejection,
)
from integrations.marketplaces.selectors import (
    QUERIES_PER_DRAFT_BATCH,
    listing_drafts,
    listing_scope,
    listing_targets,
)
from integrations.marketplaces.services import (
    ListingPublishError,
    listings_publish,
    marketplace_relay,
)
from tests.integrations.marketplaces.conftest import LISTED_SKUS, listing_of, marketplace_create
from tests.integrations.marketplaces.fake_trendyol import FakeTrendyol

TEE_SKUS = ("KRV-TEE-S", "KRV-TEE-M", "KRV-TEE-L")
TOPS_ID = "411"  # Trendyol's category for the tee's parent category ("Tops")
SIZE_ID, COLOUR_ID = "338", "348"


@pytest.fixture
def unlisted(demo_shop: dict[str, Any], fake: FakeTrendyol) -> Marketplace:
    """Listed here, not yet created on Trendyol: "tops" mapped (the tee's category is
    below it, the mug's is not), size and colour mapped, the tee with two images."""
    fake.known_barcodes = set()  # prices and stock only for products created there
    marketplace = marketplace_create(fake, price_adjustment_percent=Decimal(10))
    variant_ids = list(Variant.objects.filter(sku__in=LISTED_SKUS).values_list("pk", flat=True))
    services.listings_add(marketplace=marketplace, variant_ids=variant_ids)
    CategoryMapping.objects.create(
        marketplace=marketplace, category=Category.objects.get(code="tops"), external_id=TOPS_ID
    )
    for code, external_id in (("size", SIZE_ID), ("colour", COLOUR_ID)):
        AttributeMapping.objects.create(
            marketplace=marketplace,
            attribute=Attribute.objects.get(code=code),
            external_id=external_id,
        )
    tee = Product.objects.get(variants__sku="KRV-TEE-M")
    for position, name in enumerate(("krv-tee.jpg", "krv-tee-back.jpg")):
        ProductImage.objects.create(
            product=tee,
            image=f"products/original/{name}",
            detail=f"products/detail/{name}",
            position=position,
        )
    return marketplace


def tee_listing_ids(marketplace: Marketplace) -> list[int]:
    return sorted(listing_of(marketplace, sku).pk for sku in TEE_SKUS)


@pytest.mark.django_db
def test_the_mapped_tee_is_created_in_turkish_with_the_sync_s_prices_and_stock(
    unlisted: Marketplace, fake: FakeTrendyol
) -> None:
    # Given the tee's three sizes listed on the Turkish Trendyol, not yet created there
    targets = listing_targets(unlisted, Listing.objects.filter(pk__in=tee_listing_ids(unlisted)))
    # when they are published
    report = listings_publish(marketplace=unlisted, listing_ids=tee_listing_ids(unlisted))
    # then one create request carries the three, grouped under one product main id
    assert (report.items_queued, report.not_sendable, report.batches_sent) == (3, 0, 1)
    [(method, items)] = fake.product_requests()
    assert method == "POST"
    assert [item["stockCode"] for item in items] == list(TEE_SKUS)
    assert len({item["productMainId"] for item in items}) == 1
    medium = listing_of(unlisted, "KRV-TEE-M")
    sent = next(item for item in items if item["barcode"] == medium.barcode)
    target = targets[medium.pk]
    site = settings.SITE_URL.rstrip("/")
    assert sent == {
        "barcode": medium.barcode,
        "title": "Kervan Tişört",
        "productMainId": f"P{medium.variant.product_id}",
        "brandName": "Kervan",
        "categoryId": 411,  # the nearest mapped category: "tops", above "t-shirts"
        "quantity": target.quantity,
        "stockCode": "KRV-TEE-M",
        "description": "Organik pamuktan imza tişörtümüz.",
        "currencyType": "TRY",
        "listPrice": 1099.89,  # TRY 999.90 + 10 %, what the price and stock sync sends
        "salePrice": 1099.89,
        "vatRate": 20,
        "images": [
            {"url": f"{site}/media/products/detail/krv-tee.jpg"},
            {"url": f"{site}/media/products/detail/krv-tee-back.jpg"},
        ],
        "attributes": [
            {"attributeId": 348, "customAttributeValue": "Çivit"},  # the product's colour
            {"attributeId": 338, "customAttributeValue": "M"},  # the variant's size
        ],
    }
    assert target.sale_price == Decimal("1099.89")
    assert target.quantity > 0
    batch = SyncBatch.objects.get(kind=BatchKind.LISTING_CREATE)
    assert batch.state == BatchState.SENT
    assert batch.remote_id
    # and when the relay reads the results, the three are active on Trendyol
    marketplace_relay(marketplace=unlisted)
    for sku in TEE_SKUS:
        listing = listing_of(unlisted, sku)
        assert listing.state == ListingState.ACTIVE
        assert listing.listed_at is not None
        assert fake.catalogue[listing.barcode]["categoryId"] == 411
    # and the price and stock sync has nothing to add for them (only the mug goes out)
    services.marketplace_resync_note(marketplace=unlisted)
    marketplace_relay(marketplace=unlisted)
    synced = {item["barcode"] for items in fake.price_stock_requests() for item in items}
    assert synced == {listing_of(unlisted, "KRV-MUG").barcode}


@pytest.mark.django_db
def test_a_product_without_a_category_mapping_is_not_sent_and_says_why(
    unlisted: Marketplace, fake: FakeTrendyol
) -> None:
    # When every listing not yet on Trendyol is published
    report = listings_publish(marketplace=unlisted)
    # then the tee goes out, the mug (no mapped category, no image) does not
    mug = listing_of(unlisted, "KRV-MUG")
    sent = [item["barcode"] for _method, items in fake.product_requests() for item in items]
    assert mug.barcode not in sent
    assert (report.listings, report.items_queued, report.not_sendable) == (4, 3, 1)
    rejection = SyncRejection.objects.get()
    reason = (
        "No marketplace category is mapped for the category mugs or above it "
        "(Marketplaces › Trendyol TR › Category mappings). The product has no image."
    )
    assert (rejection.listing_id, rejection.batch_id, rejection.reason) == (mug.pk, None, reason)
    assert (mug.state, mug.last_error) == (ListingState.REJECTED, reason)
    # and asking again while the tee waits for its result sends nothing twice
    assert listings_publish(marketplace=unlisted).items_queued == 0
    assert len(fake.product_requests()) == 1


@pytest.mark.django_db
def test_an_item_trendyol_refuses_gets_trendyol_s_reason(
    unlisted: Marketplace, fake: FakeTrendyol
) -> None:
    # Given Trendyol refusing the large tee
    large = listing_of(unlisted, "KRV-TEE-L")
    fake.refuse[large.barcode] = "Kategori özelliği eksik: Yaka Tipi."
    # when the tee is published and the results read
    listings_publish(marketplace=unlisted, listing_ids=tee_listing_ids(unlisted))
    report = services.RelayReport(marketplace=unlisted.code)
    services.batches_poll(marketplace=unlisted, adapter=adapter_for(unlisted), report=report)
    # then the large one is rejected with Trendyol's words, the others are active
    assert report.rejections == 1
    rejection = SyncRejection.objects.get()
    assert (rejection.barcode, rejection.reason) == (
        large.barcode,
        "Kategori özelliği eksik: Yaka Tipi.",
    )
    assert rejection.batch is not None and rejection.batch.kind == BatchKind.LISTING_CREATE
    large.refresh_from_db()
    assert (large.state, large.last_error, large.listed_at) == (
        ListingState.REJECTED,
        "Kategori özelliği eksik: Yaka Tipi.",
        None,
    )
    assert large.last_sent_price is None  # its prices go out again with the next change
    assert listing_of(unlisted, "KRV-TEE-S").state == ListingState.ACTIVE


@pytest.mark.django_db
def test_a_429_defers_the_product_batch_and_nothing_is_lost(
    unlisted: Marketplace, fake: FakeTrendyol
) -> None:
    # Given Trendyol asking to wait a minute
    fake.too_many(retry_after=60)
    # when the tee is published
    report = listings_publish(marketplace=unlisted, listing_ids=tee_listing_ids(unlisted))
    # then its batch waits, recorded with the three items
    assert "slow down" in report.deferred
    batch = SyncBatch.objects.get(kind=BatchKind.LISTING_CREATE)
    assert (batch.state, batch.item_count) == (BatchState.WAITING, 3)
    assert batch.next_attempt_at is not None
    assert batch.next_attempt_at > timezone.now() + timezone.timedelta(seconds=50)
    # and once its time has come, the relay sends it and reads the results
    SyncBatch.objects.filter(pk=batch.pk).update(next_attempt_at=timezone.now())
    assert marketplace_relay(marketplace=unlisted).batches_sent >= 1
    marketplace_relay(marketplace=unlisted)
    for sku in TEE_SKUS:
        assert listing_of(unlisted, sku).barcode in fake.catalogue
        assert listing_of(unlisted, sku).state == ListingState.ACTIVE


@pytest.mark.django_db
def test_products_go_in_batches_of_at_most_the_adapter_s_limit(
    unlisted: Marketplace, fake: FakeTrendyol, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "adapter_max_items", lambda marketplace: 2)  # 1,000 for real
    listings_publish(marketplace=unlisted, listing_ids=tee_listing_ids(unlisted))
    assert [len(items) for _method, items in fake.product_requests()] == [2, 1]


@pytest.mark.django_db
def test_building_a_batch_costs_the_same_queries_for_one_or_many_listings(
    unlisted: Marketplace,
) -> None:
    scope = listing_scope(unlisted)
    listing_drafts(scope, Listing.objects.filter(pk=tee_listing_ids(unlisted)[0]))  # warm caches

    def queries_for(listing_ids: list[int]) -> int:
        with CaptureQueriesContext(connection) as captured:
            drafts = listing_drafts(scope, Listing.objects.filter(pk__in=listing_ids))
        assert len(drafts) == len(listing_ids)
        return len(captured)

    every = list(unlisted.listings.values_list("pk", flat=True))
    # Listings (with variants, products, brands, categories), texts, images, product
    # attributes, variant options, price rows, stock levels.
    assert queries_for(every[:1]) == QUERIES_PER_DRAFT_BATCH == 7
    assert queries_for(every) == QUERIES_PER_DRAFT_BATCH


@pytest.mark.django_db
def test_listings_of_another_marketplace_are_refused_and_nothing_changes(
    unlisted: Marketplace, fake: FakeTrendyol
) -> None:
    other = marketplace_create(fake, market_code="eu")
    with pytest.raises(ListingPublishError, match="not listings of Trendyol EU"):
        listings_publish(marketplace=other, listing_ids=tee_listing_ids(unlisted))
    assert not SyncBatch.objects.exists()
    assert fake.product_requests() == []


@pytest.mark.django_db
def test_the_admin_actions_queue_the_task_which_creates_the_products(
    unlisted: Marketplace, fake: FakeTrendyol, admin_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    queued: list[tuple[Any, ...]] = []
    monkeypatch.setattr(tasks.listings_publish, "delay", lambda *args: queued.append(args))
    # When staff choose "Create on the marketplace" for the tee's listings
    ids = tee_listing_ids(unlisted)
    response = admin_client.post(
        "/admin/marketplaces/listing/",
        {"action": "create_on_marketplace", "_selected_action": ids},
        follow=True,
    )
    # then one task is queued for the marketplace, and the page says so
    assert queued == [(unlisted.pk, ids, False)]
    assert "3 listings queued for creation on the marketplace." in response.content.decode()
    # and "Create all pending listings" on the marketplace queues the rest
    response = admin_client.post(
        "/admin/marketplaces/marketplace/",
        {"action": "publish_pending", "_selected_action": [unlisted.pk]},
        follow=True,
    )
    assert queued[-1] == (unlisted.pk,)
    assert "Creating every listing not yet on Trendyol TR" in response.content.decode()
    # and the task does the work
    result = tasks.listings_publish.apply(args=queued[0]).get()
    assert (result["items_queued"], result["batches_sent"]) == (3, 1)
    assert len(fake.product_requests()) == 1


@pytest.mark.django_db
def test_an_update_goes_to_the_products_already_there_and_leaves_prices_to_the_sync(
    unlisted: Marketplace, fake: FakeTrendyol
) -> None:
    # Given the tee created on Trendyol
    listings_publish(marketplace=unlisted, listing_ids=tee_listing_ids(unlisted))
    marketplace_relay(marketplace=unlisted)
    medium = listing_of(unlisted, "KRV-TEE-M")
    sent_price = medium.last_sent_price
    # when its Turkish name changes and every listing there is updated
    tee = medium.variant.product
    tee.translations.filter(language="tr").update(name="Kervan Organik Tişört")
    report = listings_publish(marketplace=unlisted, update=True)
    # then one PUT carries the three with the new title (the mug is not there)
    assert report.listings == 3
    method, items = fake.product_requests()[-1]
    assert method == "PUT"
    assert {item["title"] for item in items} == {"Kervan Organik Tişört"}
    marketplace_relay(marketplace=unlisted)
    assert fake.catalogue[medium.barcode]["title"] == "Kervan Organik Tişört"
    medium.refresh_from_db()
    assert (medium.state, medium.last_sent_price) == (ListingState.ACTIVE, sent_price)
