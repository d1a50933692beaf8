"""Query budgets: a page costs the same number of queries whatever it shows.

Market and pricing configuration and the category tree come from the cache
(warmed by a first request). Before each measured request the catalogue is
marked as changed, so listing summaries are recomputed: the counts below are
what a page costs right after a product change. Price and stock changes
retire no catalogue data: prices and stock are read live on every page.
"""

from __future__ import annotations

import pytest

from catalog.demo import generated_specs
from catalog.models import AttributeValue, Brand
from pricing.derivation import derived_prices_rebuild
from pricing.listing_upkeep import listing_refresh
from shop import versions
from storefront.demo import demo_products_create

pytestmark = pytest.mark.usefixtures("demo_shop")


def grow_catalogue(count: int) -> None:
    demo_products_create(list(generated_specs(count, prefix=f"Q{count}")))
    derived_prices_rebuild()
    listing_refresh()


def queries_for(client, url: str, django_assert_max_num_queries, budget: int) -> int:
    client.get(url)  # warm caches
    versions.retire_now(versions.CATALOGUE)  # as after any catalogue change
    with django_assert_max_num_queries(budget) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


# Offers read prices and stock (2); tax tables are cached until a tax or
# market change, which a catalogue change does not retire.
# Home: the newest products of the listing table stay cached until its members
# change; their texts with their variant ids (1), offers (2).
HOME = 3
# Category after a catalogue change: brand names (1) and attribute labels (1),
# the page's texts with variant ids (1), offers (2). The page's product ids come
# from the process's listing index (1 query when a listing version is first
# read), the category's count and facet counts stay cached until the listing's
# members change.
CATEGORY = 5
# Category with every filter: the same; the filtered count comes from the index
# too (the facets are the unfiltered category's, shared by every filter combination).
CATEGORY_FILTERED = 5
# Product: product with text (1), variants (1), their options (1), images (1),
# attributes (1), offers (2), slugs in other languages for hreflang (1).
PRODUCT = 8
# Search: full-text matches (1); fewer than TYPO_BELOW, so the vocabulary's
# similar words (1) and the names holding them (1); the newest of them by the
# listing index (0), their exact rank (1); the page's texts with variant ids (1), offers (2).
SEARCH = 7


@pytest.mark.parametrize(
    ("url", "budget"),
    [
        ("/de-de/", HOME),
        ("/de-de/c/kleidung/", CATEGORY),
        (
            "/de-de/c/kleidung/?sort=price&in_stock=1&brand={brand}&value={cotton}&min_price=1",
            CATEGORY_FILTERED,
        ),
        ("/de-de/p/kervan-t-shirt/", PRODUCT),
        ("/de-de/search/?q=shirt", SEARCH),
    ],
)
def test_page_queries_do_not_grow_with_the_catalogue(
    client, django_assert_max_num_queries, url, budget
):
    url = url.format(
        brand=Brand.objects.get(name="Kervan").pk,
        cotton=AttributeValue.objects.get(attribute__code="material", code="cotton").pk,
    )
    small = queries_for(client, url, django_assert_max_num_queries, budget)
    grow_catalogue(60)
    large = queries_for(client, url, django_assert_max_num_queries, budget)

    assert (small, large) == (budget, budget)


def test_product_page_queries_do_not_grow_with_variants(client, django_assert_max_num_queries):
    one_variant = queries_for(
        client, "/en-gb/p/kervan-mug/", django_assert_max_num_queries, PRODUCT
    )
    three_variants = queries_for(
        client, "/en-gb/p/kervan-t-shirt/", django_assert_max_num_queries, PRODUCT
    )

    assert one_variant == three_variants == PRODUCT


def test_a_category_seen_again_reads_only_prices_and_stock(client, django_assert_num_queries):
    client.get("/de-de/c/kleidung/")

    # Only what changes by the minute: prices and stock of the page's variants
    # (2). Count, facets and card texts wait in the cache for a catalogue change.
    with django_assert_num_queries(2):
        response = client.get("/de-de/c/kleidung/?page=1")

    assert response.context["page"].paginator.count == 1


def test_filter_combinations_share_the_categorys_facets(client, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    brand = Brand.objects.get(name="Kervan").pk
    client.get("/de-de/c/kleidung/")  # facets of the category, counted once

    for query in (f"?brand={brand}", "?in_stock=1", f"?brand={brand}&sort=price&min_price=1"):
        with CaptureQueriesContext(connection) as captured:
            response = client.get(f"/de-de/c/kleidung/{query}")
        assert response.status_code == 200
        facet_scans = [q for q in captured.captured_queries if "UNION ALL" in q["sql"]]
        assert facet_scans == [], query
        assert response.context["facets"].brands  # still shown, from the category


def test_cards_seen_on_one_listing_are_not_read_again_on_another(client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get("/de-de/c/kleidung/")  # the category's cards, cached one by one

    # A first visit to another order of the same products reads neither their texts
    # nor the listing table (the process's listing index orders them)
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/de-de/c/kleidung/?sort=-price")

    assert response.status_code == 200 and response.context["cards"]
    tables = " ".join(q["sql"] for q in captured.captured_queries)
    assert "catalog_producttranslation" not in tables
    assert "pricing_listingentry" not in tables
