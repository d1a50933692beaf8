"""Building feeds: a fixed number of queries per batch whatever the catalogue's size,
skip diagnostics, the Celery tasks, the admin, the demo feeds."""

from __future__ import annotations

import threading
from unittest import mock

import pytest
from django.db import connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext

from catalog.demo import catalog_refresh, generated_specs
from catalog.models import Product, Variant
from integrations.feeds.models import FeedBuild, FeedConfig
from integrations.feeds.selectors import QUERIES_PER_BATCH, feed_batches, feed_scope
from integrations.feeds.services import LOCK_KEY
from integrations.feeds.tasks import feed_build, feeds_build_active
from pricing.derivation import derived_prices_rebuild
from storefront.demo import demo_products_create

from .conftest import build, feed_config, image_add

pytestmark = pytest.mark.django_db


def batch_queries(config: FeedConfig, batch_size: int) -> list[int]:
    """Queries of each batch of the feed's catalogue, once the build's shared tables
    (market, lists, pools, tax, shipping rates) are read."""
    scope = feed_scope(config)
    list(feed_batches(scope, batch_size=batch_size))  # warm the shared tables
    counts = []
    batches = feed_batches(scope, batch_size=batch_size)
    while True:
        with CaptureQueriesContext(connection) as captured:
            batch = next(batches, None)
        if batch is None:
            return counts
        counts.append(len(captured))


def test_queries_per_batch_do_not_grow_with_the_catalogue(feed_shop):
    config = feed_config("eu", "de", "google")
    small = batch_queries(config, batch_size=50)

    demo_products_create(list(generated_specs(60)))
    derived_prices_rebuild()
    catalog_refresh()
    large = batch_queries(config, batch_size=50)

    # Products, variants, their options, images, prices, stock: per batch, at any size
    # (the last, short batch ends the iteration without asking for another page).
    assert small == [QUERIES_PER_BATCH]
    assert large == [QUERIES_PER_BATCH, QUERIES_PER_BATCH]
    assert QUERIES_PER_BATCH == 6


def test_a_whole_build_reads_in_batches(feed_shop):
    demo_products_create(list(generated_specs(30)))
    derived_prices_rebuild()
    catalog_refresh()
    config = feed_config("eu", "de", "partner")
    steps = []

    result = build(config, batch_size=10, progress=lambda done, total: steps.append((done, total)))

    assert steps == [(10, 32), (20, 32), (30, 32), (32, 32)]
    assert result.items_written == Variant.objects.filter(product__is_published=True).count()


def test_skipped_items_are_counted_by_reason(feed_shop):
    # Given a product without an image, a variant without a price here, one without GTIN
    demo_products_create(list(generated_specs(1)))
    derived_prices_rebuild()
    catalog_refresh()
    generated = Product.objects.get(variants__sku__startswith="DEMO-00001")
    Variant.objects.get(sku="KRV-TEE-L").price_entries.filter(price_list__currency="EUR").delete()
    Variant.objects.filter(sku="KRV-TEE-S").update(gtin="")
    config = feed_config("eu", "de", "google")

    build(config)

    latest = FeedBuild.objects.get(feed=config)
    variants_of_generated = generated.variants.count()
    assert latest.state == FeedBuild.State.SUCCESS
    assert latest.items_written == 3  # KRV-TEE-S, KRV-TEE-M, KRV-MUG
    assert latest.skipped_reasons == {"no_image": variants_of_generated, "not_sold": 1}
    assert latest.items_skipped == variants_of_generated + 1
    assert latest.samples["not_sold"] == ["KRV-TEE-L"]
    assert latest.notes["no_gtin"] == 1
    assert latest.samples["no_gtin"] == ["KRV-TEE-S"]
    assert latest.products_total == 3

    # The partner feed takes products without images.
    partner = feed_config("eu", "de", "partner")
    build(partner)
    assert FeedBuild.objects.get(feed=partner).skipped_reasons == {"not_sold": 1}

    # Once it has an image, Google takes the product too.
    image_add(generated.variants.first().sku)
    build(config)
    assert FeedBuild.objects.filter(feed=config).first().skipped_reasons == {"not_sold": 1}


def test_the_task_builds_and_the_hourly_task_queues_every_active_feed(feed_shop):
    google = feed_config("eu", "de", "google")
    meta = feed_config("eu", "de", "meta")
    feed_config("tr", "tr", "google", is_active=False)

    summary = feed_build.apply(args=[google.pk]).get()
    with mock.patch.object(feed_build, "delay") as queued:
        assert feeds_build_active.apply().get() == 2

    assert summary["items_written"] == 4 and summary["state"] == "success"
    assert sorted(call.args[0] for call in queued.call_args_list) == [google.pk, meta.pk]


def test_admin_lists_feeds_and_builds_now(feed_shop, admin_client: Client):
    config = feed_config("eu", "de", "google", access_token="abc")
    build(config)

    listing = admin_client.get("/admin/feeds/feedconfig/")
    page = admin_client.get(f"/admin/feeds/feedconfig/{config.pk}/change/")
    builds = admin_client.get("/admin/feeds/feedbuild/")
    with mock.patch.object(feed_build, "delay") as queued:
        response = admin_client.post(
            "/admin/feeds/feedconfig/",
            {"action": "build_now", "_selected_action": [config.pk]},
            follow=True,
        )

    assert listing.status_code == 200 and b"/feeds/eu/de/google.xml?token=abc" in listing.content
    assert page.status_code == 200 and b"4 items written" in page.content
    assert builds.status_code == 200
    queued.assert_called_once_with(config.pk)
    assert b"queued for building" in response.content


def test_a_feed_in_a_language_the_market_does_not_sell_is_refused(demo_markets):
    from django.core.exceptions import ValidationError

    config = FeedConfig(market=demo_markets["tr"], language="de", format="google")

    with pytest.raises(ValidationError) as raised:
        config.full_clean()

    assert "language" in raised.value.message_dict


def test_demo_feeds_for_each_market(feed_shop):
    from integrations.feeds.demo import feeds_demo_setup

    feeds = feeds_demo_setup()
    again = feeds_demo_setup()

    assert [str(feed) for feed in feeds] == [str(feed) for feed in again]
    assert {str(feed) for feed in feeds} >= {
        "eu/de/google.xml",
        "eu/de/meta.csv",
        "eu/de/partner.xml",
        "tr/tr/google.xml",
        "us/en/google.xml",
        "gb/en/google.xml",
    }
    assert len(feeds) == 12


def test_a_build_asked_while_the_same_feed_builds_does_nothing(feed_shop):
    google = feed_config("eu", "de", "google")
    holding, release = threading.Event(), threading.Event()

    def another_build() -> None:  # holds the feed's build lock from its own session
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", [LOCK_KEY, google.pk])
            holding.set()
            release.wait(10)
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_KEY, google.pk])
        connections["default"].close()

    thread = threading.Thread(target=another_build)
    thread.start()
    try:
        assert holding.wait(10)
        summary = feed_build.apply(args=[google.pk]).get()
    finally:
        release.set()
        thread.join()

    assert summary == {"skipped": f"Feed {google.pk} is being built already."}
    assert not FeedBuild.objects.filter(feed=google).exists()
    assert feed_build.apply(args=[google.pk]).get()["state"] == "success"
