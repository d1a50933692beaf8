"""The page cache keys a page by its canonical query: equivalent URLs share one entry.

Only the parameters a page reads count, in a fixed order and one spelling;
unknown parameters and invalid values add no entry.
"""

from __future__ import annotations

import pytest
from django.core.cache import cache

pytestmark = pytest.mark.usefixtures("demo_shop")

LISTING = "/de-de/c/kleidung/"


@pytest.fixture(autouse=True)
def page_cache_on(settings):
    settings.STOREFRONT_CACHE_SECONDS = 60


def stored_pages() -> int:
    client = cache._cache.get_client()  # type: ignore[attr-defined]
    return sum(1 for _ in client.scan_iter(match="*storefront:page:*"))


def cache_states(client, urls: list[str]) -> list[str]:
    return [client.get(url).get("X-Page-Cache", "not stored") for url in urls]


def test_listing_urls_that_mean_the_same_share_one_entry(client):
    urls = [
        f"{LISTING}?sort=price&brand=2&brand=1&min_price=10.0&in_stock=1",
        f"{LISTING}?in_stock=on&min_price=10&brand=1&brand=2&sort=price",
        f"{LISTING}?min_price=10,00&brand=2&brand=1&brand=2&sort=price&in_stock=1&page=1",
        f"{LISTING}?brand=1&brand=2&min_price=+10.&sort=price&in_stock=true&page=01",
    ]

    assert cache_states(client, urls) == ["miss", "hit", "hit", "hit"]
    assert stored_pages() == 1


def test_unknown_parameters_add_no_entry(client):
    pages = [LISTING, "/de-de/", "/de-de/p/kervan-t-shirt/", "/de-de/search/?q=shirt"]
    for page in pages:
        client.get(page)
    joiner = {page: "&" if "?" in page else "?" for page in pages}

    states = cache_states(
        client,
        [f"{page}{joiner[page]}utm_source=news&fbclid=abc&x={n}" for n, page in enumerate(pages)],
    )

    assert states == ["hit"] * len(pages)
    assert stored_pages() == len(pages)


def test_invalid_values_read_as_their_default_and_share_its_entry(client):
    client.get(LISTING)
    garbage = ["sort=evil", "min_price=abc", "max_price=-3", "brand=x", "page=abc", "page=0"]

    states = cache_states(client, [f"{LISTING}?{query}" for query in garbage])

    assert states == ["hit"] * len(garbage)
    assert stored_pages() == 1


def test_different_filters_are_different_entries(client):
    queries = ["", "sort=price", "sort=name", "in_stock=1", "min_price=10", "max_price=10"]
    queries.append("page=2")

    states = cache_states(client, [f"{LISTING}?{query}" for query in queries])

    # Page 2 of a one-page listing shows page 1: that is not stored (see below).
    assert states == ["miss"] * 6 + ["not stored"]
    assert stored_pages() == 6


def test_pages_past_the_last_are_shown_but_not_stored(client):
    states = cache_states(client, [f"{LISTING}?page={n}" for n in (2, 3, 999, 10**30)])

    assert states == ["not stored"] * 4
    assert stored_pages() == 0


def test_a_normalised_listing_shows_the_requested_page_and_links_canonically(client, catalogue):
    second = client.get("/en-gb/c/clothing/?page=2&sort=price&utm_source=news")
    same = client.get("/en-gb/c/clothing/?sort=price&page=02")

    assert second["X-Page-Cache"] == "miss"
    assert second.context["page"].number == 2
    prices = [card.offer.price for card in second.context["cards"]]
    assert prices == sorted(prices) and len(prices) > 0
    assert 'href="?sort=price&amp;page=1"' in second.content.decode()
    assert "utm_source" not in second.content.decode()
    assert same["X-Page-Cache"] == "hit"
    assert same.content == second.content


def test_search_text_is_trimmed_and_its_spaces_collapsed(client):
    first = client.get("/de-de/search/?q=kervan+shirt")
    again = client.get("/de-de/search/?q=++kervan+++shirt+&page=1")
    other = client.get("/de-de/search/?q=kervan")

    assert (first["X-Page-Cache"], again["X-Page-Cache"], other["X-Page-Cache"]) == (
        "miss",
        "hit",
        "miss",
    )
    assert first.context["q"] == "kervan shirt"


def test_each_variant_of_a_product_page_has_its_entry_and_unknown_ones_none(client):
    page = "/de-de/p/kervan-t-shirt/"

    states = cache_states(
        client,
        [
            f"{page}?variant=KRV-TEE-L",
            f"{page}?variant=+krv-tee-l",
            f"{page}?variant=KRV-TEE-S",
            f"{page}?variant=NO-SUCH-SKU",
            f"{page}?variant=KRV-MUG",
        ],
    )

    assert states == ["miss", "hit", "miss", "not stored", "not stored"]
    assert stored_pages() == 2
