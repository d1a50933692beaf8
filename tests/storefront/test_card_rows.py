"""Card rows: the catalogue's visibility rules, the page's order, one planned query."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.models import Product, Variant, Visibility
from shop.context import MarketContext
from shop.selectors import market_directory
from storefront import listing
from storefront.listing import card_rows

pytestmark = pytest.mark.usefixtures("demo_shop", "catalogue")


def context(prefix: str) -> MarketContext:
    market, country, language = market_directory().resolve_prefix(prefix)
    return MarketContext(market, country, language)


def test_rows_keep_the_order_asked_and_leave_out_what_is_not_shown_here():
    tee = Variant.objects.get(sku="KRV-TEE-M").product
    products = list(Product.objects.exclude(pk=tee.pk).order_by("pk")[:3])
    hidden, scheduled, shown = products
    hidden.visibility, hidden.visibility_countries = Visibility.ONLY, ["TR"]
    hidden.save()
    scheduled.published_at = timezone.now() + timedelta(days=1)
    scheduled.save()
    inactive = tee.variants.order_by("position", "id").first()
    inactive.is_active = False
    inactive.save()

    rows = card_rows(context("de-de"), [shown.pk, hidden.pk, scheduled.pk, tee.pk, 999_999_999])

    assert [row.product_id for row in rows] == [shown.pk, tee.pk]
    tee_row = rows[1]
    assert tee_row.name == tee.translations.get(language="de").name
    expected = tee.variants.filter(is_active=True).order_by("position", "id")
    assert tee_row.variant_ids == tuple(expected.values_list("pk", flat=True))
    assert [row.product_id for row in card_rows(context("tr-tr"), [hidden.pk])] == [hidden.pk]


def test_the_query_is_compiled_once_a_minute_and_read_in_one_round_trip():
    de = context("de-de")
    ids = list(Product.objects.values_list("pk", flat=True)[:5])
    card_rows(de, ids)
    compiled = listing._card_query("DE", "de")

    with CaptureQueriesContext(connection) as captured:
        card_rows(de, ids[:2])

    assert len(captured.captured_queries) == 1
    assert listing._card_query("DE", "de") is compiled
