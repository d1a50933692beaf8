"""Merchants manage markets, geography, customer groups and customers in the admin."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from catalog.models import Product, Variant
from shop.models import CustomerGroup, Market, MarketCountry

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        "/admin/",
        "/admin/shop/market/",
        "/admin/shop/market/add/",
        "/admin/shop/country/",
        "/admin/shop/country/TR/change/",
        "/admin/shop/region/?country__code__exact=US",
        "/admin/shop/customergroup/",
        "/admin/shop/customer/",
        "/admin/auth/user/add/",
    ],
)
def test_admin_pages_open(admin_client, demo_markets, url):
    assert admin_client.get(url).status_code == 200


def market_form(**overrides):
    data = {
        "name": "Switzerland",
        "code": "ch",
        "position": "5",
        "is_active": "on",
        "currency": "CHF",
        "prices_include_tax": "on",
        "default_language": "de",
        "other_languages": "fr",
        "default_country": "CH",
        "country_links-TOTAL_FORMS": "2",
        "country_links-INITIAL_FORMS": "0",
        "country_links-MIN_NUM_FORMS": "0",
        "country_links-MAX_NUM_FORMS": "1000",
        "country_links-0-country": "CH",
        "country_links-1-country": "LI",
        # The pricing app adds its price lists and stock pools to this page.
        **{
            f"{prefix}-{field}": value
            for prefix in ("price_lists", "stock_pools")
            for field, value in (
                ("TOTAL_FORMS", "0"),
                ("INITIAL_FORMS", "0"),
                ("MIN_NUM_FORMS", "0"),
                ("MAX_NUM_FORMS", "1000"),
            )
        },
    }
    data.update(overrides)
    return data


def test_a_merchant_adds_a_market(admin_client, demo_markets):
    response = admin_client.post("/admin/shop/market/add/", market_form())

    assert response.status_code == 302
    market = Market.objects.get(code="ch")
    assert sorted(market.country_links.values_list("country_id", flat=True)) == ["CH", "LI"]
    assert admin_client.get("/de-li/").status_code == 200


def test_a_country_of_another_active_market_is_explained_not_saved(admin_client, demo_markets):
    response = admin_client.post(
        "/admin/shop/market/add/", market_form(**{"country_links-1-country": "AT"})
    )

    assert response.status_code == 200
    assert "Austria is already served by the active market Europe." in response.content.decode()
    assert not Market.objects.filter(code="ch").exists()


def test_an_inactive_market_may_hold_a_taken_country(admin_client, demo_markets):
    form = market_form(**{"country_links-1-country": "AT"})
    del form["is_active"]

    response = admin_client.post("/admin/shop/market/add/", form)

    assert response.status_code == 302
    assert MarketCountry.objects.filter(country_id="AT").count() == 2


def test_the_default_country_must_be_served(admin_client, demo_markets):
    response = admin_client.post("/admin/shop/market/add/", market_form(default_country="FR"))

    assert "The default country must be one of the countries served." in response.content.decode()


def test_an_unknown_currency_is_refused(admin_client, demo_markets):
    response = admin_client.post("/admin/shop/market/add/", market_form(currency="XYZ"))

    assert "XYZ is not an ISO 4217 currency code." in response.content.decode()


def test_seed_demo_is_idempotent(db):
    call_command("seed_demo", products=6, no_images=True)
    call_command("seed_demo", products=6, no_images=True)

    assert Product.objects.count() == 6
    # The listings are built: `make run` shows the products on category pages at once.
    from pricing.models import ListingEntry

    assert ListingEntry.objects.filter(product__variants__sku="KRV-TEE-M").exists()
    assert (
        Variant.objects.filter(sku__in=["KRV-TEE-S", "KRV-TEE-M", "KRV-TEE-L", "KRV-MUG"]).count()
        == 4
    )

    assert sorted(Market.objects.values_list("code", "currency", "prices_include_tax")) == [
        ("eu", "EUR", True),
        ("gb", "GBP", True),
        ("tr", "TRY", True),
        ("us", "USD", False),
    ]
    assert sorted(
        MarketCountry.objects.filter(market__code="eu").values_list("country_id", flat=True)
    ) == ["AT", "DE", "FR", "NL"]
    assert Market.objects.get(is_default=True).code == "us"
    assert set(CustomerGroup.objects.values_list("code", flat=True)) == {"retail", "dealer"}


def test_seed_demo_refuses_a_catalogue_without_the_reference_items(db):
    with pytest.raises(CommandError, match="at least 2"):
        call_command("seed_demo", products=1)

    assert not Market.objects.exists()


def test_seed_demo_generates_images_in_storefront_sizes(db):
    call_command("seed_demo", products=3)

    product = Product.objects.select_related("primary_image").get(variants__sku="KRV-MUG")
    image = product.primary_image
    assert image.alt_texts["de"] == "Kervan Becher"
    assert image.listing.name.endswith("-400.webp") and image.detail.name.endswith("-1000.webp")
