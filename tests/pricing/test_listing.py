"""The listing table: its rows say what ``offers_for`` says, after every kind of change."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from catalog.demo import generated_specs
from catalog.models import Product, ProductChange, Variant, Visibility
from catalog.services import catalogue_changed
from pricing.listing import ListingQuery, listing_count, listing_product_ids
from pricing.listing_upkeep import LOCK_KEY, contexts_all, listing_refresh
from pricing.models import ListingContext, ListingEntry, PriceList, StockLevel
from pricing.offers import PriceContext, best_offer, offers_for
from pricing.rates import rates_update
from pricing.services import price_set, stock_levels_add, stock_levels_zero
from storefront.demo import demo_products_create
from tests.pricing.test_rates import DEMO_RATES, ecb_document

pytestmark = pytest.mark.usefixtures("demo_shop")


@pytest.fixture
def catalogue() -> None:
    """40 more products with sales, several variants and out-of-stock items."""
    demo_products_create(list(generated_specs(40, prefix="LT")))
    from pricing.derivation import derived_prices_rebuild

    derived_prices_rebuild()
    listing_refresh()


def expected_rows(context: ListingContext) -> dict[int, tuple[Decimal, bool, bool]]:
    """What each product's card shows in the context, asked of ``offers_for`` directly."""
    group = context.customer_group_id
    market = context.market
    price = PriceContext(
        market_id=market.pk,
        country=context.country_id,
        currency=market.currency,
        prices_include_tax=market.prices_include_tax,
        customer_group_id=group,
    )
    expected = {}
    for product in Product.objects.visible_in(context.country_id).prefetch_related("variants"):
        variants = [variant for variant in product.variants.all() if variant.is_active]
        offers = offers_for(variants, price)
        offer, _varies, _availability = best_offer([offers[v.pk] for v in variants])
        if offer is not None and offer.price is not None:
            can_buy = any(offers[v.pk].can_buy for v in variants)
            expected[product.pk] = (offer.price, offer.is_on_sale, can_buy)
    return expected


def assert_listing_equals_offers() -> None:
    contexts = list(ListingContext.objects.select_related("market"))
    assert contexts
    for context in contexts:
        rows = {
            product_id: (price, on_sale, in_stock)
            for product_id, price, on_sale, in_stock in ListingEntry.objects.filter(
                context=context
            ).values_list("product_id", "price", "on_sale", "in_stock")
        }
        assert rows == expected_rows(context), context


def row(sku: str, country: str = "DE", group: int | None = None) -> ListingEntry | None:
    product_id = Variant.objects.get(sku=sku).product_id
    return ListingEntry.objects.filter(
        context__country_id=country,
        context__customer_group_id=group,
        product_id=product_id,
    ).first()


def test_every_market_country_and_dealer_group_has_a_context():
    keys = {
        (context.market.code, context.country_id, context.customer_group is not None)
        for context in ListingContext.objects.select_related("market", "customer_group")
    }
    assert ("eu", "DE", False) in keys and ("eu", "DE", True) in keys
    assert {("tr", "TR", False), ("us", "US", False), ("gb", "GB", False)} <= keys


def test_rows_equal_offers_after_seeding(catalogue):
    assert_listing_equals_offers()


def tee_on_sale(sale: str, **options) -> None:
    """Every size of the T-shirt at EUR 29.90, on sale for ``sale``."""
    eur_retail = PriceList.objects.get(code="eur-retail")
    for variant in Variant.objects.get(sku="KRV-TEE-M").product.variants.all():
        price_set(
            price_list=eur_retail,
            variant_id=variant.pk,
            amount=Decimal("29.90"),
            sale_amount=Decimal(sale),
            **options,
        )


def test_a_price_change_reaches_the_listing_of_every_market_using_the_list(catalogue):
    tee_on_sale("19.90")  # on every size: the card shows the cheapest
    assert row("KRV-TEE-M").price == Decimal("29.90")  # not yet: the outbox waits

    report = listing_refresh()

    assert row("KRV-TEE-M").price == Decimal("19.90") and row("KRV-TEE-M").on_sale
    assert report.written > 0 and not ProductChange.objects.exists()
    assert_listing_equals_offers()  # derived lists (USD, GBP, dealers) followed too


def test_running_out_of_stock_clears_in_stock_and_shows_the_cheapest_left(catalogue):
    levels = StockLevel.objects.filter(variant__product__variants__sku="KRV-TEE-M")
    stock_levels_zero(levels)
    listing_refresh()
    assert row("KRV-TEE-M").in_stock is False
    assert_listing_equals_offers()

    stock_levels_add(levels, units=5)
    listing_refresh()
    assert row("KRV-TEE-M").in_stock is True
    assert_listing_equals_offers()


def test_visibility_and_publication_changes_add_and_remove_rows(catalogue):
    tee = Variant.objects.get(sku="KRV-TEE-M").product
    tee.visibility, tee.visibility_countries = Visibility.EXCEPT, ["DE"]
    tee.save()
    catalogue_changed([tee.pk])
    listing_refresh()
    assert row("KRV-TEE-M", "DE") is None and row("KRV-TEE-M", "AT") is not None

    tee.is_published = False
    tee.save()
    catalogue_changed([tee.pk])
    listing_refresh()
    assert not ListingEntry.objects.filter(product=tee).exists()
    assert_listing_equals_offers()


def test_new_exchange_rates_reprice_the_derived_markets(catalogue):
    before = row("KRV-TEE-M", "US").price

    rates_update(document=ecb_document("2026-11-23", {**DEMO_RATES, "USD": "1.2000"}))
    listing_refresh()

    assert row("KRV-TEE-M", "US").price > before
    assert_listing_equals_offers()


def test_a_sale_and_a_publication_are_picked_up_when_their_time_comes(catalogue):
    now = timezone.now()
    tee_on_sale("9.90", sale_starts_at=now + timedelta(hours=1))
    mug = Variant.objects.get(sku="KRV-MUG").product
    Product.objects.filter(pk=mug.pk).update(published_at=now + timedelta(hours=1))
    catalogue_changed([mug.pk])
    listing_refresh(now=now)
    assert not row("KRV-TEE-M").on_sale and row("KRV-MUG") is None

    # Nothing else happens: time alone brings both in.
    listing_refresh(now=now + timedelta(hours=1, seconds=5))

    assert row("KRV-TEE-M").on_sale and row("KRV-TEE-M").price == Decimal("9.90")
    assert row("KRV-MUG") is not None


def test_a_context_is_derived_again_when_its_settings_change(catalogue):
    uk = ListingContext.objects.get(country_id="GB")
    gross = row("KRV-TEE-M", "GB").price
    market = uk.market
    market.prices_include_tax = False
    market.save()

    report = listing_refresh()

    assert report.contexts_rebuilt == 1
    assert row("KRV-TEE-M", "GB").price < gross  # net now
    assert_listing_equals_offers()


def test_only_one_refresh_runs_at_a_time(catalogue):
    other = connection.copy()  # a second session holds the lock
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
        assert listing_refresh().skipped
    finally:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])
        other.close()
    assert not listing_refresh().skipped


def test_listing_queries_sort_filter_and_count_by_the_rows(catalogue):
    context = next(c for c in contexts_all() if c.price.country == "DE" and c.signature[1] is None)
    query = ListingQuery(context_id=context.id, language="de")
    by_price = listing_product_ids(query, "price", offset=0, limit=1000)
    prices = dict(
        ListingEntry.objects.filter(context_id=context.id).values_list("product_id", "price")
    )
    assert [prices[p] for p in by_price] == sorted(prices[p] for p in by_price)
    assert listing_product_ids(query, "-price", offset=0, limit=1000) == by_price[::-1]

    cheap = ListingQuery(context_id=context.id, language="de", price_max=Decimal("30"))
    assert listing_count(cheap) == sum(1 for price in prices.values() if price <= 30)
    assert listing_count(query, at_most=5) == 6  # "more than five"


def test_a_stock_import_sets_quantities_and_refuses_bad_rows_whole():
    from django.core.exceptions import ValidationError

    from pricing.services import stock_quantities_set

    levels = StockLevel.objects.filter(variant__sku__startswith="KRV-TEE").order_by("id")
    pool_id = levels[0].pool_id
    variant_ids = [level.variant_id for level in levels.filter(pool_id=pool_id)]
    before = dict(levels.values_list("id", "quantity"))

    for bad in ({variant_ids[0]: 3, variant_ids[1]: -1}, {variant_ids[0]: 3, 999999: 1}):
        with pytest.raises(ValidationError):
            stock_quantities_set(pool_id=pool_id, quantities=bad)
        assert dict(levels.values_list("id", "quantity")) == before
    assert not ProductChange.objects.exists()

    written = stock_quantities_set(pool_id=pool_id, quantities=dict.fromkeys(variant_ids, 0))
    assert written == len(variant_ids)
    assert ProductChange.objects.filter(source=f"stock-pool:{pool_id}").exists()
    listing_refresh()
    assert_listing_equals_offers()


@pytest.mark.parametrize("share", [1.0, 0.01])  # walked in index order, or sorted
def test_listing_sorts_by_name_and_newest_whichever_way_it_reads(catalogue, share):
    from catalog.models import ProductTranslation

    context = next(c for c in contexts_all() if c.price.country == "DE" and c.signature[1] is None)
    query = ListingQuery(context_id=context.id, language="de")
    listed = set(
        ListingEntry.objects.filter(context_id=context.id).values_list("product_id", flat=True)
    )
    # In the database's own collation, as shoppers see names sorted.
    names = ProductTranslation.objects.filter(language="de", product_id__in=listed)
    by_name = listing_product_ids(query, "name", offset=0, limit=1000, share=share)
    assert by_name == list(
        names.order_by("name", "product_id").values_list("product_id", flat=True)
    )
    newest = listing_product_ids(query, "newest", offset=0, limit=1000, share=share)
    dates = dict(Product.objects.filter(pk__in=listed).values_list("pk", "published_at"))
    assert newest == sorted(dates, key=lambda pk: (dates[pk], pk), reverse=True)
    page = listing_product_ids(query, "price", offset=5, limit=5, share=share)
    assert page == listing_product_ids(query, "price", offset=0, limit=1000)[5:10]
