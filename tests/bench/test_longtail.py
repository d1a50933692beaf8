"""The long-tail bench's URL generator and pattern grouping: pure Python, no server."""

from __future__ import annotations

import math
from io import StringIO
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.http import QueryDict
from django.urls import resolve

from bench.longtail import (
    MARKETS,
    Catalogue,
    Listing,
    Storefront,
    patterns,
    snapshot,
    target,
    url_pattern,
    urls,
)
from bench.measure import Visit
from storefront.views import PAGE_SIZE, ListingForm

BRANDS = ((1, 300), (2, 600))  # brand id, products of the root category
ATTRIBUTES = ((5, 6, 7), (11, 13))
CATALOGUE = Catalogue(
    storefronts=(
        Storefront(
            prefix="de-de",
            products=2000,
            prices=(20, 40, 60, 90),
            listings=(
                Listing("kleidung", "root", 900, BRANDS, ATTRIBUTES),
                Listing("oberteile", "sub", 500, ((1, 200), (2, 300)), ATTRIBUTES),
                Listing("t-shirts", "leaf", 200, ((1, 200),), ATTRIBUTES[:1]),
            ),
            words=(("baumwolle", 0.4), ("indigo", 0.17), ("anatolia", 0.12)),
            phrases=(("anatolia baumwolle", 0.05), ("indigo leinen", 0.03)),
        ),
        Storefront(
            prefix="en-us",
            products=2000,
            prices=(18, 37, 55, 80),
            listings=(
                Listing("clothing", "root", 900, BRANDS, ATTRIBUTES),
                Listing("tops", "sub", 500, ((1, 200), (2, 300)), ATTRIBUTES),
                Listing("t-shirts", "leaf", 200, ((1, 200),), ATTRIBUTES[:1]),
            ),
            words=(("cotton", 0.4), ("indigo", 0.17)),
            phrases=(("indigo cotton", 0.06),),
        ),
    ),
    page_size=PAGE_SIZE,
)
LEVELS = CATALOGUE.levels()
LISTINGS = {
    (storefront.prefix, listing.slug): (storefront, listing)
    for storefront in CATALOGUE.storefronts
    for listing in storefront.listings
}


@pytest.fixture(scope="module")
def generated() -> list[str]:
    return urls(CATALOGUE, 1500, seed=7)


def test_urls_are_distinct_and_as_many_as_asked(generated):
    assert len(generated) == 1500
    assert len(set(generated)) == 1500


def test_urls_are_fixed_by_the_seed_and_shuffled(generated):
    assert urls(CATALOGUE, 1500, seed=7) == generated
    assert urls(CATALOGUE, 1500, seed=8) != generated
    assert generated != sorted(generated)


def test_urls_mix_listings_and_searches_in_every_market(generated):
    views = {resolve(urlsplit(url).path).url_name for url in generated}
    prefixes = {urlsplit(url).path.split("/")[1] for url in generated}
    searches = sum("/search/" in url for url in generated)

    assert views == {"category", "search"}
    assert prefixes == {"de-de", "en-us"}
    assert 0 < searches < len(generated) / 2  # this catalogue has few words


def test_listing_urls_use_only_what_the_listing_form_accepts(generated):
    sorts = {value for value, _label in ListingForm({}).fields["sort"].choices}
    known = {*ListingForm({}).fields, "page"}
    for url in generated:
        parts = urlsplit(url)
        prefix, kind, *slug = parts.path.strip("/").split("/")
        if kind != "c":
            continue
        storefront, listing = LISTINGS[(prefix, slug[0])]
        query = parse_qs(parts.query)
        assert set(query) <= known, url
        assert set(query.get("sort", [])) <= sorts, url
        form = ListingForm(QueryDict(parts.query))
        assert form.is_valid(), (url, form.errors)
        brand_ids = {brand_id for brand_id, _count in listing.brands}
        value_ids = {value_id for values in listing.attributes for value_id in values}
        assert set(form.cleaned_data["brand"]) <= brand_ids, url
        assert set(form.cleaned_data["value"]) <= value_ids, url
        for bound in ("min_price", "max_price"):
            if bound in query:
                assert int(query[bound][0]) in storefront.prices, url
        assert query.get("in_stock", ["1"]) == ["1"], url


def test_search_urls_ask_words_of_the_storefronts_language(generated):
    for url in generated:
        parts = urlsplit(url)
        prefix = parts.path.split("/")[1]
        if "/search/" not in parts.path:
            continue
        storefront = next(s for s in CATALOGUE.storefronts if s.prefix == prefix)
        query = parse_qs(parts.query)
        assert set(query) <= {"q", "page"}, url
        assert query["q"][0] in dict(storefront.words) | dict(storefront.phrases), url


def test_pages_stay_within_the_listing_and_the_first_page_has_no_number(generated):
    pages = []
    for url in generated:
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        if "page" not in query:
            continue
        page = int(query["page"][0])
        assert page >= 2, url
        pages.append(page)
        prefix, kind, *slug = parts.path.strip("/").split("/")
        if kind == "c":
            _storefront, listing = LISTINGS[(prefix, slug[0])]
            assert page <= math.ceil(listing.products / PAGE_SIZE), url
    assert pages and max(pages) > 5  # a few deep pages, not only the first few


def test_a_small_catalogue_gives_fewer_urls_without_repeats():
    tiny = Catalogue(
        storefronts=(
            Storefront(
                prefix="de-de",
                products=10,
                prices=(),
                listings=(Listing("kleidung", "root", 10, (), ()),),
                words=(),
                phrases=(),
            ),
        ),
        page_size=PAGE_SIZE,
    )

    found = urls(tiny, 100)

    # Only the sorts (or none) and in stock (or not) vary on a one-page listing.
    assert sorted(found) == sorted(set(found))
    assert len(found) == (1 + 4) * 2


@pytest.mark.parametrize(
    ("url", "pattern"),
    [
        ("/de-de/c/kleidung/", "category root page=1"),
        ("/de-de/c/kleidung/?sort=newest", "category root page=1"),
        (
            "/en-us/c/tops/?sort=-price&in_stock=1&page=7",
            "category sub sort=-price in_stock page≥3",
        ),
        (
            "/de-de/c/t-shirts/?sort=price&brand=1&brand=2&value=5&min_price=20&page=2",
            "category leaf sort=price price brand value page=2",
        ),
        ("/en-us/c/t-shirts/?max_price=55", "category leaf price page=1"),
        ("/de-de/c/unbekannt/", "category ? page=1"),
        ("/de-de/search/?q=baumwolle", "search 1 word page=1"),
        ("/en-us/search/?q=indigo+cotton&page=3", "search 2 words page≥3"),
    ],
)
def test_url_pattern(url, pattern):
    assert url_pattern(url, LEVELS) == pattern


def test_patterns_group_successes_slowest_median_first():
    visits = [
        Visit("/de-de/c/kleidung/", 10.0, None, "miss"),
        Visit("/en-us/c/clothing/?sort=newest", 30.0, None, "miss"),
        Visit("/en-us/c/clothing/?page=2", 5.0, None, "miss"),
        Visit("/de-de/search/?q=baumwolle", 50.0, None, "miss"),
        Visit("/de-de/search/?q=indigo", 70.0, None, "miss"),
        Visit("/de-de/search/?q=anatolia", 900.0, "HTTP 500", ""),
    ]

    found = patterns(visits, LEVELS)

    assert [(p.pattern, p.urls, p.p50, p.max) for p in found] == [
        ("search 1 word page=1", 2, 50.0, 70.0),
        ("category root page=1", 2, 10.0, 30.0),
        ("category root page=2", 1, 5.0, 5.0),
    ]


@pytest.mark.parametrize(
    ("products", "size"), [(2000, 20_000), (20_000, 20_000), (50_000, 100_000), (500_000, 100_000)]
)
def test_target_for_the_catalogue_size(products, size):
    assert target(products)[0] == size


@pytest.mark.django_db
def test_urls_of_a_seeded_catalogue_all_answer(client):
    call_command("seed_bench", products=50, stdout=StringIO())
    cache.clear()
    catalogue = snapshot()

    found = urls(catalogue, 80)

    assert {storefront.prefix for storefront in catalogue.storefronts} == set(MARKETS)
    assert all(storefront.words and storefront.prices for storefront in catalogue.storefronts)
    assert len(found) == 80
    statuses = [(url, client.get(url).status_code) for url in found]
    assert [(url, status) for url, status in statuses if status != 200] == []
