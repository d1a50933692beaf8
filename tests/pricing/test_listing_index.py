"""The listing index in process memory answers exactly as the listing table's queries do."""

from __future__ import annotations

import random
import time
from decimal import Decimal

import pytest

from catalog.models import AttributeValue, Brand, Category, ProductTranslation, Variant
from catalog.services import catalogue_changed
from pricing import listing_index as index_module
from pricing.listing import (
    MAX_RESULTS,
    ListingQuery,
    category_counts,
    listing_count,
    listing_counts,
    listing_newest,
    listing_price_deciles,
    listing_product_ids,
)
from pricing.listing_index import (
    _ascending,
    _descending,
    _mask,
    _nth,
    _rows,
    listing_index,
)
from pricing.listing_upkeep import contexts_all, listing_refresh
from pricing.models import ListingEntry, PriceList, StockLevel
from pricing.services import price_set, stock_levels_zero
from shop import page_cache, versions
from tests.pricing.test_listing import catalogue  # noqa: F401 - the fixture

pytestmark = pytest.mark.usefixtures("demo_shop", "catalogue")

SORTS = ("price", "-price", "newest", "name", "unknown")


def test_bit_helpers_agree_with_a_plain_list():
    rng = random.Random(5)
    for size in (1, 7, 64, 65, 300, 1000):
        for density in (0.0, 0.02, 0.5, 1.0):
            rows = sorted(row for row in range(size) if rng.random() < density)
            mask = _mask(rows, size)
            assert _rows(mask) == rows
            for n in range(len(rows)):
                assert _nth(mask, n) == rows[n]
            for offset, limit in ((0, 5), (3, 4), (len(rows), 3), (len(rows) + 2, 3)):
                assert _ascending(mask, offset, limit) == rows[offset : offset + limit]
                assert _descending(mask, offset, limit) == rows[::-1][offset : offset + limit]


def contexts() -> list[int]:
    return [c.id for c in contexts_all() if c.price.country in {"DE", "US", "TR"}]


def queries(context_id: int, language: str, rng: random.Random, count: int) -> list[ListingQuery]:
    """Random combinations of every filter the storefront offers."""
    categories = list(Category.objects.values_list("pk", flat=True))
    brands = list(Brand.objects.values_list("pk", flat=True))
    values = list(AttributeValue.objects.values_list("attribute_id", "pk"))
    deciles = listing_price_deciles(context_id)
    found = [ListingQuery(context_id=context_id, language=language)]
    for _ in range(count):
        by_attribute: dict[int, list[int]] = {}
        for attribute_id, value_id in rng.sample(values, rng.choice((0, 0, 1, 2, 3))):
            by_attribute.setdefault(attribute_id, []).append(value_id)
        found.append(
            ListingQuery(
                context_id=context_id,
                language=rng.choice((language, language, "en", "xx")),
                category_ids=rng.choice((None, tuple(rng.sample(categories, rng.randint(1, 4))))),
                brand_ids=tuple(rng.sample(brands, rng.choice((0, 0, 1, 2)))),
                value_groups=tuple(tuple(group) for group in by_attribute.values()),
                price_min=rng.choice((None, None, *deciles[:5])),
                price_max=rng.choice((None, None, *deciles[4:], Decimal("0.5"))),
                in_stock_only=rng.random() < 0.3,
            )
        )
    return found


def assert_index_answers_as_the_table(context_id: int, language: str, seed: int = 1) -> None:
    rng = random.Random(seed)
    assert listing_index(context_id) is not None
    for query in queries(context_id, language, rng, 60):
        assert listing_count(query) == listing_count(query, indexed=False), query
        assert listing_count(query, at_most=3) == listing_count(query, at_most=3, indexed=False)
        assert sorted(listing_counts(query)) == sorted(listing_counts(query, indexed=False))
        for sort in SORTS:
            for offset, limit in ((0, 24), (rng.randint(1, 30), rng.randint(1, 10)), (500, 5)):
                indexed = listing_product_ids(query, sort, offset=offset, limit=limit)
                for share in (1.0, 0.01):  # the table walked in index order, or sorted
                    expected = listing_product_ids(
                        query, sort, offset=offset, limit=limit, share=share, indexed=False
                    )
                    assert indexed == expected, (query, sort, offset, limit, share)


@pytest.mark.parametrize("language", ["de", "tr"])
def test_pages_counts_and_facets_equal_the_tables(language):
    for context_id in contexts():
        assert_index_answers_as_the_table(context_id, language)


def test_the_newest_of_some_products_equal_the_tables():
    context_id = contexts()[0]
    listed = list(
        ListingEntry.objects.filter(context_id=context_id).values_list("product_id", flat=True)
    )
    among = [*random.Random(3).sample(listed, 15), 999_999_999]
    for limit in (1, 5, 100):
        assert listing_newest(context_id, "de", limit=limit, among=among) == listing_newest(
            context_id, "de", limit=limit, among=among, indexed=False
        )


def test_the_index_follows_price_and_stock_changes(django_capture_on_commit_callbacks):
    context = next(c for c in contexts_all() if c.price.country == "DE" and c.signature[1] is None)
    query = ListingQuery(context_id=context.id, language="de")
    before = listing_index(context.id)
    cheapest_first = listing_product_ids(query, "price", offset=0, limit=MAX_RESULTS)

    # The dearest product becomes the cheapest; another one sells out.
    dearest = Variant.objects.filter(product_id=cheapest_first[-1])
    eur_retail = PriceList.objects.get(code="eur-retail")
    for variant in dearest:
        price_set(price_list=eur_retail, variant_id=variant.pk, amount=Decimal("0.10"))
    stock_levels_zero(StockLevel.objects.filter(variant__product_id=cheapest_first[0]))
    with django_capture_on_commit_callbacks(execute=True):  # versions retire on commit
        listing_refresh()

    assert listing_index(context.id) is not before  # the listing's version moved on
    assert listing_product_ids(query, "price", offset=0, limit=1) == [cheapest_first[-1]]
    in_stock = ListingQuery(context_id=context.id, language="de", in_stock_only=True)
    assert cheapest_first[0] not in listing_product_ids(in_stock, "price", offset=0, limit=500)
    assert_index_answers_as_the_table(context.id, "de", seed=2)


def test_a_listing_is_read_from_the_table_when_versions_cannot_be_read(
    settings, django_assert_num_queries
):
    context_id = contexts()[0]
    query = ListingQuery(context_id=context_id, language="de")
    expected = listing_product_ids(query, "price", offset=0, limit=10)
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "unix:///nonexistent/redis.sock",
        }
    }
    index_module.listing_index_clear()

    assert versions.version(versions.listing(context_id)) == versions.UNKNOWN
    assert listing_index(context_id) is None
    with django_assert_num_queries(1):
        assert listing_product_ids(query, "price", offset=0, limit=10) == expected


def test_memory_holds_a_bounded_number_of_contexts(settings):
    settings.LISTING_INDEX_CONTEXTS = 2
    for context_id in contexts():
        listing_index(context_id)

    assert list(index_module._indexes) == contexts()[-2:]


def test_an_index_expires(monkeypatch):
    context_id = contexts()[0]
    first = listing_index(context_id)
    assert listing_index(context_id) is first
    monkeypatch.setattr(index_module, "TIMEOUT", -1)

    assert listing_index(context_id) is not first


def test_a_categorys_counts_are_kept_with_the_index_until_its_listing_changes(
    django_assert_num_queries, django_capture_on_commit_callbacks
):
    context = next(c for c in contexts_all() if c.price.country == "DE" and c.signature[1] is None)
    tee = Variant.objects.get(sku="KRV-TEE-M").product
    category_ids = tuple(tee.categories.values_list("pk", flat=True))
    query = ListingQuery(context_id=context.id, language="de", category_ids=category_ids)
    counts = category_counts(context.id, "de", category_ids)
    assert sorted(counts) == sorted(listing_counts(query, indexed=False))
    with django_assert_num_queries(0):
        assert category_counts(context.id, "de", category_ids) is counts

    tee.is_published = False
    tee.save()
    catalogue_changed([tee.pk])
    with django_capture_on_commit_callbacks(execute=True):
        listing_refresh()

    total = next(count for kind, _key, count in counts if kind == "total")
    now = category_counts(context.id, "de", category_ids)
    assert ("total", 0, total - 1) in now
    assert sorted(now) == sorted(listing_counts(query, indexed=False))


def wait_for(condition, seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # the thread reads commits
def test_after_a_change_the_earlier_index_answers_while_a_thread_builds_the_new_one(
    settings, caplog, monkeypatch
):
    settings.LISTING_INDEX_BACKGROUND_BUILD = True
    context = next(c for c in contexts_all() if c.price.country == "DE" and c.signature[1] is None)
    query = ListingQuery(context_id=context.id, language="de")
    before = listing_index(context.id)
    cheapest_first = listing_product_ids(query, "price", offset=0, limit=MAX_RESULTS)
    eur_retail = PriceList.objects.get(code="eur-retail")

    def dearest_made_cheapest(amount: str) -> int:
        dearest = listing_product_ids(query, "-price", offset=0, limit=1)[0]
        for variant in Variant.objects.filter(product_id=dearest):
            price_set(price_list=eur_retail, variant_id=variant.pk, amount=Decimal(amount))
        listing_refresh()  # committed: the listing's version moves on
        return dearest

    # A build that fails is logged; the earlier index went on answering meanwhile.
    monkeypatch.setattr(index_module, "_build", lambda *args: 1 / 0)
    dearest = dearest_made_cheapest("0.10")
    page_cache._collecting.versions, page_cache._collecting.store = {}, True
    try:
        assert listing_index(context.id) is before
        assert page_cache._collecting.store is False  # the page shows an earlier listing
    finally:
        page_cache._collecting.versions = None
    wait_for(lambda: not index_module._background)
    assert f"Building the listing index's context {context.id} failed" in caplog.text
    monkeypatch.undo()

    assert listing_index(context.id) is before  # tried again, in a thread again
    wait_for(lambda: listing_index(context.id) is not before)
    assert listing_product_ids(query, "price", offset=0, limit=1) == [dearest]
    assert cheapest_first[-1] == dearest

    # A rename: the earlier name order answers while the new one is read.
    by_name = listing_product_ids(query, "name", offset=0, limit=3)
    renamed = ProductTranslation.objects.get(product_id=by_name[-1], language="de")
    renamed.name = "0 Zuerst"
    renamed.save()
    catalogue_changed([renamed.product_id])
    listing_refresh()
    page_cache._collecting.versions, page_cache._collecting.store = {}, True
    try:
        assert listing_product_ids(query, "name", offset=0, limit=3) == by_name
        assert page_cache._collecting.store is False
    finally:
        page_cache._collecting.versions = None
    wait_for(lambda: not index_module._background)
    first = listing_product_ids(query, "name", offset=0, limit=1)
    assert first == [renamed.product_id]
    assert first == listing_product_ids(query, "name", offset=0, limit=1, indexed=False)
