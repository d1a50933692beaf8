"""Serving feeds: stable URLs, not-built and unknown feeds, access tokens, conditional
requests, and the atomic swap of a new file."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.utils import timezone

from catalog.models import Variant
from integrations.feeds.models import FeedBuild, FeedConfig
from integrations.feeds.services import _swap_in, feeds_delete
from pricing.models import PriceList
from pricing.services import price_set

from .conftest import G, build, feed_config, google_items

pytestmark = pytest.mark.django_db


def test_unknown_inactive_and_unbuilt_feeds_are_404_with_a_message(feed_shop):
    client = Client()
    config = feed_config("eu", "de", "google")

    not_built = client.get("/feeds/eu/de/google.xml")
    build(config)
    unknown = [
        client.get("/feeds/xx/de/google.xml"),  # no such market
        client.get("/feeds/eu/tr/google.xml"),  # no feed in that language
        client.get("/feeds/eu/de/meta.csv"),  # no feed in that format
    ]
    FeedConfig.objects.filter(pk=config.pk).update(is_active=False)
    inactive = client.get("/feeds/eu/de/google.xml")

    assert not_built.status_code == 404
    assert b"not been built yet" in not_built.content
    for response in [*unknown, inactive]:
        assert response.status_code == 404
        assert b"no such feed" in response.content


def test_served_with_its_type_and_validators_and_304_when_unchanged(feed_shop):
    build(feed_config("eu", "de", "google"))
    client = Client()

    first = client.get("/feeds/eu/de/google.xml")
    # A storefront prefix of the market names it too.
    by_prefix = client.get("/feeds/de-de/de/google.xml")
    again = client.get("/feeds/eu/de/google.xml", headers={"if-none-match": first["ETag"]})
    since = client.get(
        "/feeds/eu/de/google.xml", headers={"if-modified-since": first["Last-Modified"]}
    )

    assert first.status_code == 200 and by_prefix.status_code == 200
    assert first["Content-Type"] == "application/xml; charset=utf-8"
    assert first["ETag"] and first["Last-Modified"]
    assert int(first["Content-Length"]) == len(b"".join(first.streaming_content))
    assert again.status_code == 304
    assert since.status_code == 304


def test_a_feed_with_a_token_needs_it(feed_shop):
    build(feed_config("eu", "de", "partner", access_token="s3cret-token"))
    client = Client()

    assert client.get("/feeds/eu/de/partner.xml").status_code == 403
    assert client.get("/feeds/eu/de/partner.xml?token=wrong").status_code == 403
    response = client.get("/feeds/eu/de/partner.xml?token=s3cret-token")
    assert response.status_code == 200
    assert b"<catalogue" in b"".join(response.streaming_content)


def test_the_old_file_is_served_until_the_new_one_is_swapped_in(
    feed_shop, django_capture_on_commit_callbacks
):
    # Given a built feed
    config = feed_config("eu", "de", "google")
    build(config)
    client = Client()
    old_build = FeedConfig.objects.get(pk=config.pk).current_build
    assert (
        google_items(client, "/feeds/eu/de/google.xml")["KRV-TEE-M"].findtext(f"{G}price")
        == "29.90 EUR"
    )
    # and a new price
    eur = PriceList.objects.get(code="eur-retail")
    price_set(
        price_list=eur,
        variant_id=Variant.objects.get(sku="KRV-TEE-M").pk,
        amount=Decimal("31.50"),
    )

    # When the next build has stored its file but not yet swapped it in
    served_meanwhile = []
    real_save = default_storage.save

    def save_then_fetch(name, content, *args, **kwargs):
        stored = real_save(name, content, *args, **kwargs)
        items = google_items(client, "/feeds/eu/de/google.xml")
        served_meanwhile.append(items["KRV-TEE-M"].findtext(f"{G}price"))
        return stored

    with (
        mock.patch.object(default_storage, "save", side_effect=save_then_fetch),
        django_capture_on_commit_callbacks(execute=True),
    ):
        build(config)

    # Then the old file was served whole meanwhile, the new one is served now
    assert served_meanwhile == ["29.90 EUR"]
    items = google_items(client, "/feeds/eu/de/google.xml")
    assert items["KRV-TEE-M"].findtext(f"{G}price") == "31.50 EUR"
    # and the old file is gone from storage (its build stays in the history)
    assert not default_storage.exists(old_build.file_name)
    assert FeedBuild.objects.filter(feed=config).count() == 2


def test_a_failed_build_keeps_the_served_file(feed_shop):
    config = feed_config("eu", "de", "google")
    build(config)
    current = FeedConfig.objects.get(pk=config.pk).current_build

    with (
        mock.patch(
            "integrations.feeds.services.feed_batches", side_effect=RuntimeError("database gone")
        ),
        pytest.raises(RuntimeError),
    ):
        build(config)

    config.refresh_from_db()
    assert config.current_build == current
    assert default_storage.exists(current.file_name)
    failed = FeedBuild.objects.filter(feed=config, state=FeedBuild.State.FAILED).get()
    assert failed.error == "RuntimeError: database gone"
    assert Client().get("/feeds/eu/de/google.xml").status_code == 200


def test_a_feed_of_an_inactive_market_fails_with_the_reason(feed_shop):
    from integrations.feeds.selectors import FeedUnavailable

    config = feed_config("gb", "en", "google")
    with mock.patch("integrations.feeds.selectors.market_directory") as directory:
        directory.return_value.markets = ()
        with pytest.raises(FeedUnavailable):
            build(config)

    failed = FeedBuild.objects.get(feed=config)
    assert failed.state == FeedBuild.State.FAILED
    assert failed.error == "The market 'gb' is not active."


def test_a_build_that_started_before_the_served_one_is_superseded(
    feed_shop, django_capture_on_commit_callbacks
):
    # Given two overlapping builds: the one started later finished first
    config = feed_config("eu", "de", "google")
    early = FeedBuild.objects.create(feed=config, started_at=timezone.now() - timedelta(minutes=5))
    build(config)
    served = FeedConfig.objects.get(pk=config.pk).current_build
    stored = default_storage.save("feeds/eu/de/early.xml", ContentFile(b"<rss/>"))
    early.file_name = stored

    # When the early one finishes
    with django_capture_on_commit_callbacks(execute=True):
        _swap_in(early)

    # Then the newer file stays served and the early file is dropped
    assert FeedConfig.objects.get(pk=config.pk).current_build == served
    early.refresh_from_db()
    assert early.file_name == "" and "Superseded" in early.error
    assert not default_storage.exists(stored)


def test_deleting_a_feed_deletes_its_files(feed_shop, django_capture_on_commit_callbacks):
    config = feed_config("eu", "de", "google")
    build(config)
    name = FeedConfig.objects.get(pk=config.pk).current_build.file_name

    with django_capture_on_commit_callbacks(execute=True):
        feeds_delete(FeedConfig.objects.filter(pk=config.pk))

    assert not default_storage.exists(name)
    assert not FeedBuild.objects.exists()
