"""Anonymous storefront pages are cached until something they show changes."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from catalog.models import Variant
from pricing.models import PriceList, StockPool
from pricing.services import price_set, stock_set

pytestmark = pytest.mark.usefixtures("demo_shop")

PAGE = "/de-de/p/kervan-t-shirt/?variant=KRV-TEE-M"


@pytest.fixture(autouse=True)
def page_cache_on(settings):
    settings.STOREFRONT_CACHE_SECONDS = 60


def test_the_second_anonymous_visit_is_served_from_the_cache(client, django_assert_num_queries):
    first = client.get(PAGE)
    with django_assert_num_queries(0):
        second = client.get(PAGE)

    assert (first["X-Page-Cache"], second["X-Page-Cache"]) == ("miss", "hit")
    assert second.content == first.content
    assert second["Content-Language"] == "de"


def test_each_market_and_language_has_its_own_entry(client):
    client.get(PAGE)

    other = client.get("/en-de/p/kervan-t-shirt/?variant=KRV-TEE-M")

    assert other["X-Page-Cache"] == "miss"
    assert "incl. tax" in other.content.decode()


def test_a_price_change_retires_cached_pages(client, django_capture_on_commit_callbacks):
    client.get(PAGE)
    variant = Variant.objects.get(sku="KRV-TEE-M")

    with django_capture_on_commit_callbacks(execute=True):
        price_set(
            price_list=PriceList.objects.get(code="eur-retail"),
            variant_id=variant.pk,
            amount=Decimal("34.90"),
        )
    response = client.get(PAGE)

    assert response["X-Page-Cache"] == "miss"
    assert response.context["offer"].price == Decimal("34.90")


def test_a_stock_change_retires_cached_pages(client, django_capture_on_commit_callbacks):
    client.get(PAGE)

    with django_capture_on_commit_callbacks(execute=True):
        stock_set(
            variant=Variant.objects.get(sku="KRV-TEE-M"),
            pool_id=StockPool.objects.get(code="rotterdam").pk,
            quantity=0,
        )
    response = client.get(PAGE)

    assert response["X-Page-Cache"] == "miss"
    assert response.context["offer"].availability == "out_of_stock"


def test_signed_in_shoppers_are_never_served_from_the_cache(client):
    client.get(PAGE)
    client.force_login(get_user_model().objects.create_user("ada", "ada@example.com", "pw"))

    response = client.get(PAGE)

    assert "X-Page-Cache" not in response


def test_not_found_pages_are_not_cached(client):
    client.get("/de-de/p/nothing-here/")

    assert "X-Page-Cache" not in client.get("/de-de/p/nothing-here/")


OTHER_PAGE = "/de-de/p/kervan-becher/"


def test_stock_taken_for_an_order_retires_only_pages_showing_that_variant(
    client, django_capture_on_commit_callbacks
):
    # Given both product pages are cached
    from pricing.services import stock_reserve
    from shop import versions

    client.get(PAGE)
    assert client.get(OTHER_PAGE)["X-Page-Cache"] == "miss"
    shared = [versions.CATALOGUE, versions.CATEGORY_TREE, versions.PRICING, versions.MARKETS]
    before = versions.versions(shared)

    # When an order takes a T-shirt
    with django_capture_on_commit_callbacks(execute=True):
        stock_reserve(
            variant_id=Variant.objects.get(sku="KRV-TEE-M").pk,
            pool_ids=[StockPool.objects.get(code="rotterdam").pk],
            quantity=1,
        )

    # Then only the T-shirt's page is rebuilt; the catalogue caches survive
    assert client.get(OTHER_PAGE)["X-Page-Cache"] == "hit"
    assert client.get(PAGE)["X-Page-Cache"] == "miss"
    assert versions.versions(shared) == before
