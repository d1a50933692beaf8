"""seed_bench: a synthetic catalogue for load benchmarks."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command

from catalog.models import Product, ProductTranslation, Variant
from pricing.models import PriceEntry, StockLevel
from pricing.offers import PriceContext, offers_for
from shop.context import MarketContext
from shop.models import Market
from shop.selectors import market_directory
from storefront.listing import listed_products

pytestmark = pytest.mark.django_db


def _seed(products: int) -> str:
    output = StringIO()
    call_command("seed_bench", products=products, stdout=output)
    cache.clear()
    return output.getvalue()


def _bench_products() -> list[int]:
    return list(
        Product.objects.filter(variants__sku__startswith="BENCH-")
        .distinct()
        .values_list("pk", flat=True)
    )


def _context(prefix: str) -> MarketContext:
    resolved = market_directory().resolve_prefix(prefix)
    assert resolved is not None
    market, country, language = resolved
    return MarketContext(market=market, country=country, language=language)


def test_seed_bench_creates_visible_priced_searchable_products():
    output = _seed(50)

    bench = _bench_products()
    assert len(bench) == 50
    assert "50 new products" in output
    variants = list(Variant.objects.filter(product_id__in=bench))
    for prefix in ("de-de", "en-us", "tr-tr"):
        context = _context(prefix)
        assert listed_products(context).filter(pk__in=bench).count() == 50, prefix
        offers = offers_for(variants, PriceContext.from_market(context))
        assert all((offers[v.pk].gross or 0) > 0 for v in variants), prefix
    assert not ProductTranslation.objects.filter(
        product_id__in=bench, search_vector__isnull=True
    ).exists()


def test_seed_bench_twice_changes_nothing():
    _seed(50)
    counts = (
        Product.objects.count(),
        Variant.objects.count(),
        PriceEntry.objects.count(),
        StockLevel.objects.count(),
    )

    output = _seed(50)

    assert "0 new products" in output
    assert (
        Product.objects.count(),
        Variant.objects.count(),
        PriceEntry.objects.count(),
        StockLevel.objects.count(),
    ) == counts


@pytest.mark.parametrize("products", [0, -5])
def test_seed_bench_refuses_a_catalogue_without_products(products):
    with pytest.raises(CommandError, match="at least 1"):
        call_command("seed_bench", products=products, stdout=StringIO())

    assert not Market.objects.exists()
    assert not Product.objects.exists()


def test_growing_the_catalogue_indexes_only_the_new_products():
    _seed(20)
    kept = ProductTranslation.objects.filter(product_id__in=_bench_products()).first()
    assert kept is not None
    ProductTranslation.objects.filter(pk=kept.pk).update(search_name="kept as it was")

    _seed(30)

    assert len(_bench_products()) == 30
    assert not ProductTranslation.objects.filter(search_vector__isnull=True).exists()
    kept.refresh_from_db()
    assert kept.search_name == "kept as it was"
