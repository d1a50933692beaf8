"""Storefront pages: what shoppers in each market see."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.management import call_command

from catalog.models import Product, Variant, Visibility
from pricing.listing_upkeep import listing_refresh
from pricing.models import PriceEntry, PriceList, StockLevel
from pricing.services import price_unset, stock_levels_zero

pytestmark = pytest.mark.usefixtures("demo_shop")

ECB_TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>
<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01"
  xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
  <Cube><Cube time="2026-11-23">
    <Cube currency="USD" rate="{usd}"/><Cube currency="GBP" rate="0.85"/>
    <Cube currency="TRY" rate="37.5"/>
  </Cube></Cube>
</gesmes:Envelope>"""


def jsonld(response) -> dict:
    html = response.content.decode()
    match = re.search(r'<script type="application/ld\+json"[^>]*>(.*?)</script>', html, re.S)
    assert match, "no JSON-LD on the page"
    return json.loads(match.group(1))


def offer_for(data: dict, sku: str) -> tuple[str, str, str]:
    entry = next(o for o in data["offers"] if o["sku"] == sku)
    return entry["price"], entry["priceCurrency"], entry["availability"]


@pytest.mark.parametrize(
    ("prefix", "price", "currency", "shown"),
    [
        ("de-de", "29.90", "EUR", "29,90\xa0€"),
        ("tr-tr", "999.90", "TRY", "999,90\xa0₺"),
        ("en-us", "27.99", "USD", "$27.99"),
        ("en-gb", "25.99", "GBP", "£25.99"),
    ],
)
def test_sku_page_shows_and_declares_the_markets_price(client, prefix, price, currency, shown):
    response = client.get(f"/{prefix}/sku/KRV-TEE-M/", follow=True)

    assert response.status_code == 200
    assert response.redirect_chain[0][1] == 302
    assert response.redirect_chain[0][0].endswith("?variant=KRV-TEE-M")
    data = jsonld(response)
    assert data["@type"] == "Product" and data["sku"] == "KRV-TEE-M"
    assert offer_for(data, "KRV-TEE-M") == (price, currency, "https://schema.org/InStock")
    assert shown in response.content.decode()


def test_json_ld_has_one_offer_per_variant_equal_to_the_page(client):
    response = client.get("/de-de/sku/KRV-TEE-L/", follow=True)

    data = jsonld(response)
    assert [o["sku"] for o in data["offers"]] == ["KRV-TEE-S", "KRV-TEE-M", "KRV-TEE-L"]
    for variant, offer, _label in response.context["variants"]:
        assert offer_for(data, variant.sku)[:2] == (str(offer.price), offer.currency)
    assert response.context["offer"].price == Decimal(offer_for(data, "KRV-TEE-L")[0])


def test_an_out_of_stock_variant_is_declared_out_of_stock(client):
    StockLevel.objects.filter(variant__sku="KRV-TEE-S").update(quantity=0)

    data = jsonld(client.get("/de-de/sku/KRV-TEE-M/", follow=True))

    assert offer_for(data, "KRV-TEE-S")[2] == "https://schema.org/OutOfStock"


def test_tax_label_follows_the_market(client):
    germany = client.get("/en-de/sku/KRV-TEE-M/", follow=True).content.decode()
    america = client.get("/en-us/sku/KRV-TEE-M/", follow=True).content.decode()

    assert "incl. tax" in germany
    assert "excl. tax" in america


def test_us_price_follows_a_new_exchange_rate(client, tmp_path: Path):
    rates = tmp_path / "rates.xml"
    rates.write_text(ECB_TEMPLATE.format(usd="1.2000"))

    call_command("update_rates", file=str(rates))

    # 29.90 / 1.19 × 1.20 = 30.1513 → 30.99
    data = jsonld(client.get("/en-us/sku/KRV-TEE-M/", follow=True))
    assert offer_for(data, "KRV-TEE-M")[:2] == ("30.99", "USD")


def test_a_product_hidden_in_a_country_is_404_there(client):
    assert client.get("/en-us/sku/KRV-MUG/").status_code == 404
    assert client.get("/en-us/p/kervan-mug/").status_code == 404
    assert client.get("/en-gb/sku/KRV-MUG/", follow=True).status_code == 200


def test_hidden_products_are_left_out_of_listings_and_search(client):
    us_home = client.get("/en-us/")
    gb_home = client.get("/en-gb/")
    us_search = client.get("/en-us/search/?q=mug")
    gb_search = client.get("/en-gb/search/?q=mug")

    def names(response):
        return [card.name for card in response.context["cards"]]

    assert "Kervan Mug" not in names(us_home) and "Kervan Mug" in names(gb_home)
    assert names(us_search) == [] and names(gb_search) == ["Kervan Mug"]


def test_visibility_only_in_chosen_countries(client):
    Product.objects.filter(variants__sku="KRV-TEE-M").update(
        visibility=Visibility.ONLY, visibility_countries=["TR"]
    )

    assert client.get("/tr-tr/sku/KRV-TEE-M/", follow=True).status_code == 200
    assert client.get("/de-de/sku/KRV-TEE-M/").status_code == 404


def test_hreflang_lists_only_countries_where_the_product_is_visible(client):
    html = client.get("/en-gb/sku/KRV-MUG/", follow=True).content.decode()

    alternates = dict(re.findall(r'hreflang="([^"]+)" href="([^"]+)"', html))
    assert "en-US" not in alternates
    assert alternates["tr-TR"] == "http://testserver/tr-tr/p/kervan-kupa/"
    assert alternates["de-AT"] == "http://testserver/de-at/p/kervan-becher/"
    assert alternates["en-GB"] == "http://testserver/en-gb/p/kervan-mug/"


def test_a_slug_of_another_language_moves_to_this_languages_url(client):
    response = client.get("/de-de/p/kervan-mug/?variant=KRV-MUG")

    assert response.status_code == 301
    assert response["Location"] == "/de-de/p/kervan-becher/?variant=KRV-MUG"


def test_sitemaps_list_only_visible_pages(client):
    index = client.get("/sitemap.xml").content.decode()
    american = client.get("/sitemap-en-us-products.xml").content.decode()
    british = client.get("/sitemap-en-gb-products.xml").content.decode()
    categories = client.get("/sitemap-de-de-categories.xml").content.decode()

    assert "sitemap-en-us-products.xml" in index and "sitemap-tr-tr-categories.xml" in index
    assert "/en-us/p/kervan-t-shirt/" in american and "kervan-mug" not in american
    assert "/en-gb/p/kervan-mug/" in british
    assert "/de-de/c/kleidung/" in categories
    assert client.get("/sitemap-xx-yy-products.xml").status_code == 404


def test_robots_txt_points_at_the_sitemap(client):
    body = client.get("/robots.txt").content.decode()

    assert "Sitemap: http://testserver/sitemap.xml" in body
    assert "Disallow: /admin/" in body


def test_unknown_sku_and_category_are_404(client):
    assert client.get("/de-de/sku/NOPE/").status_code == 404
    assert client.get("/de-de/c/nope/").status_code == 404


def cards(response):
    return response.context["cards"]


def test_category_listing_paginates_24_per_page(client, catalogue):
    first = client.get("/en-gb/c/clothing/")
    total = first.context["page"].paginator.count

    assert total > 24
    assert len(cards(first)) == 24
    second = client.get("/en-gb/c/clothing/?page=2")
    assert len(cards(second)) == total - 24


def canonical_and_robots(response) -> tuple[str, bool]:
    html = response.content.decode()
    canonical = re.search(r'<link rel="canonical" href="([^"]+)">', html)
    assert canonical, "no canonical link"
    return canonical.group(1), '<meta name="robots" content="noindex">' in html


def test_listing_pages_are_indexed_once_each_and_refinements_not(client, catalogue):
    assert canonical_and_robots(client.get("/en-gb/c/clothing/")) == (
        "http://testserver/en-gb/c/clothing/",
        False,
    )
    # Each page of the listing is its own canonical page.
    assert canonical_and_robots(client.get("/en-gb/c/clothing/?page=2")) == (
        "http://testserver/en-gb/c/clothing/?page=2",
        False,
    )
    # Sorted and filtered variants point to the plain listing and stay out of the index.
    for refined in ("?sort=price", "?in_stock=on&page=2", "?min_price=10", "?brand=1"):
        canonical, noindex = canonical_and_robots(client.get(f"/en-gb/c/clothing/{refined}"))
        assert canonical.startswith("http://testserver/en-gb/c/clothing/")
        assert "sort=" not in canonical and "price" not in canonical and noindex
    # Unknown parameters and invalid values refine nothing.
    assert (
        canonical_and_robots(client.get("/en-gb/c/clothing/?utm_source=x&sort=bogus"))[1] is False
    )
    # The shop's own search results are never indexed.
    assert canonical_and_robots(client.get("/en-gb/search/?q=collection"))[1] is True


def test_sorting_by_price(client, catalogue):
    ascending = [c.offer.price for c in cards(client.get("/de-de/c/kleidung/?sort=price"))]
    descending = [c.offer.price for c in cards(client.get("/de-de/c/kleidung/?sort=-price"))]

    assert ascending == sorted(ascending)
    assert descending == sorted(descending, reverse=True)


def test_price_range_filter_in_the_market_currency(client, catalogue):
    response = client.get("/de-de/c/kleidung/?min_price=30&max_price=50,5")

    prices = [c.offer.price for c in cards(response)]
    assert prices and all(Decimal(30) <= p <= Decimal("50.50") for p in prices)


def test_brand_and_attribute_filters(client, catalogue):
    page = client.get("/en-gb/c/clothing/")
    brand_id, brand_name, count = page.context["facets"].brands[0]

    by_brand = client.get(f"/en-gb/c/clothing/?brand={brand_id}")
    assert by_brand.context["page"].paginator.count == count
    assert {c.brand for c in cards(by_brand)} == {brand_name}

    material = dict(page.context["facets"].attributes)["Material"]
    linen = next(value_id for value_id, name in material if name == "Linen")
    by_linen = client.get(f"/en-gb/c/clothing/?value={linen}")
    assert by_linen.context["page"].paginator.count > 0
    assert all("Linen" in c.name for c in cards(by_linen))


def test_in_stock_only_filter(client, catalogue):
    stock_levels_zero(StockLevel.objects.filter(variant__sku__startswith="KRV-TEE"))
    listing_refresh()

    everything = [c.name for c in cards(client.get("/en-gb/c/t-shirts/"))]
    in_stock = [c.name for c in cards(client.get("/en-gb/c/t-shirts/?in_stock=1"))]

    assert "Kervan T-shirt" in everything and "Kervan T-shirt" not in in_stock


def test_bad_filter_values_are_ignored_not_an_error(client, catalogue):
    response = client.get("/en-gb/c/clothing/?min_price=abc&brand=x&sort=evil&page=999")

    assert response.status_code == 200
    assert response.context["page"].paginator.count > 24


def test_products_without_a_price_in_the_market_are_not_listed(client):
    mug = Variant.objects.get(sku="KRV-MUG")
    price_unset(price_list=PriceList.objects.get(code="try-retail"), variant_id=mug.pk)
    listing_refresh()

    names = [c.name for c in cards(client.get("/tr-tr/"))]

    assert "Kervan Kupa" not in names and "Kervan Tişört" in names


def test_listing_shows_prices_in_the_shoppers_format(client):
    html = client.get("/de-de/").content.decode()

    assert "29,90\xa0€" in html


@pytest.mark.parametrize(
    ("prefix", "name", "shown", "in_stock"),
    [
        ("de-de", "Kervan T-Shirt", "29,90\xa0€", "Auf Lager"),
        ("tr-tr", "Kervan Tişört", "999,90\xa0₺", "Stokta var"),
    ],
)
def test_listing_cards_are_written_in_the_shoppers_language(client, prefix, name, shown, in_stock):
    html = client.get(f"/{prefix}/").content.decode()

    card = next(
        (item for item in html.split('<li class="card">')[1:] if f">{name}</span>" in item), None
    )
    assert card, f"no card for {name}"
    card = card.split("</li>")[0]
    assert f'<p class="price"><strong>{shown}</strong></p>' in card
    assert f'<p class="stock stock-ok">{in_stock}' in card


def test_a_card_escapes_what_the_merchant_wrote(client):
    from catalog.models import ProductTranslation

    ProductTranslation.objects.filter(name="Kervan T-Shirt", language="de").update(
        name='T-Shirt <b>"fett"</b>'
    )
    cache.clear()

    html = client.get("/de-de/").content.decode()

    assert "T-Shirt &lt;b&gt;&quot;fett&quot;&lt;/b&gt;" in html and "<b>" not in html


def test_variant_picker_marks_the_requested_variant(client):
    response = client.get("/en-gb/p/kervan-t-shirt/?variant=krv-tee-l")

    assert response.context["selected"] == Variant.objects.get(sku="KRV-TEE-L")
    assert 'aria-current="true">L</a>' in response.content.decode()


def test_category_hreflang_uses_each_languages_slug(client):
    html = client.get("/de-de/c/kleidung/").content.decode()

    alternates = dict(re.findall(r'hreflang="([^"]+)" href="([^"]+)"', html))
    assert alternates["tr-TR"] == "http://testserver/tr-tr/c/giyim/"
    assert alternates["fr-AT"] == "http://testserver/fr-at/c/vetements/"
    assert alternates["x-default"] == "http://testserver/c/clothing/"


def test_switching_language_on_a_category_keeps_the_category(client):
    response = client.post("/market/", {"prefix": "tr-tr", "next": "/c/kleidung/?sort=price"})

    assert response["Location"] == "/tr-tr/c/kleidung/?sort=price"
    moved = client.get(response["Location"])
    assert moved.status_code == 301
    assert moved["Location"] == "/tr-tr/c/giyim/?sort=price"


def test_no_x_default_for_a_product_hidden_in_the_default_market(client):
    html = client.get("/en-gb/sku/KRV-MUG/", follow=True).content.decode()

    alternates = dict(re.findall(r'hreflang="([^"]+)" href="([^"]+)"', html))
    assert "x-default" not in alternates


def test_listing_prices_and_stock_are_live_while_card_texts_are_cached(client):
    client.get("/de-de/c/t-shirts/")  # card texts cached
    variant = Variant.objects.get(sku="KRV-TEE-M")
    PriceEntry.objects.filter(
        price_list__code="eur-retail", variant__sku__startswith="KRV-TEE"
    ).update(amount=Decimal("24.90"))
    StockLevel.objects.filter(variant=variant).update(quantity=0)

    card = next(c for c in cards(client.get("/de-de/c/t-shirts/")) if c.name == "Kervan T-Shirt")

    assert card.offer.price == Decimal("24.90")


def test_hiding_a_category_hides_everything_below_it_without_breaking_pages(client):
    # Given the season's "Clothing" is switched off (Clothing > Tops > T-shirts)
    from catalog.models import Category

    Category.objects.filter(code="clothing").update(is_active=False)

    # Then its grandchild is gone with it, and the product page still answers
    assert client.get("/de-de/c/t-shirts/").status_code == 404
    assert client.get("/de-de/c/kleidung/").status_code == 404
    page = client.get("/de-de/p/kervan-t-shirt/")
    assert page.status_code == 200
    assert "/de-de/c/t-shirts/" not in page.content.decode()
    assert client.get("/de-de/").status_code == 200


def test_pages_name_their_icon_and_favicon_ico_leads_there(demo_shop, client):
    page = client.get("/de-de/")
    icon = client.get("/favicon.ico")

    assert b'rel="icon"' in page.content
    assert icon.status_code == 301
    assert icon["Location"].endswith(".svg")


def test_category_and_search_pages_describe_themselves_in_the_shoppers_language(client):
    def description(url: str) -> str:
        html = client.get(url).content.decode()
        found = re.search(r'<meta name="description" content="([^"]*)">', html)
        assert found, url
        return found.group(1)

    assert description("/de-de/c/kleidung/").startswith("Kleidung bei Kervan:")
    assert description("/tr-tr/search/?q=tisort").startswith("Mağazanın ürünlerini")


def test_a_word_matching_too_much_says_so_and_shows_the_newest(client, catalogue, monkeypatch):
    import storefront.listing
    import storefront.views
    from catalog.demo import catalog_refresh

    catalog_refresh()  # the search columns of the catalogue's products
    everything = client.get("/en-gb/search/?q=cotton")
    assert everything.context["more_than"] is None
    assert everything.context["page"].paginator.count > 3

    monkeypatch.setattr(storefront.listing, "SEARCH_LIMIT", 3)
    monkeypatch.setattr(storefront.views, "SEARCH_LIMIT", 3)
    cache.clear()  # the result pages cached under the real limit
    bounded = client.get("/en-gb/search/?q=cotton&page=1")

    assert bounded.context["more_than"] == 3
    assert bounded.context["page"].paginator.count == 3
    assert len(bounded.context["cards"]) == 3  # not the extra match that only tells "more"
    assert "More than 3 products" in bounded.content.decode()


def test_a_word_in_much_of_the_catalogue_is_looked_for_among_the_newest(
    client, catalogue, monkeypatch
):
    import catalog.selectors
    from catalog.demo import catalog_refresh

    catalog_refresh()
    by_index = [card.name for card in cards(client.get("/en-gb/search/?q=cotton"))]

    # As if "cotton" were in more texts than the index is asked for: the
    # listing is walked newest first instead, checking each product's text.
    monkeypatch.setattr(catalog.selectors, "SEARCH_PROBE", 2)
    cache.clear()
    by_walk = [card.name for card in cards(client.get("/en-gb/search/?q=cotton"))]

    assert len(by_index) > 2 and by_walk == by_index


def test_two_languages_of_one_country_never_share_cards(client):
    # Given the German listing of Austria was shown (and its cards cached)
    german = [card.name for card in cards(client.get("/de-at/c/kleidung/"))]

    # Then the French one, on the same listing of prices, is in French with French links
    response = client.get("/fr-at/c/vetements/")

    french = [card.name for card in cards(response)]
    assert "Kervan T-Shirt" in german and "T-shirt Kervan" in french
    assert all(card.url.startswith("/fr-at/p/") for card in cards(response))
