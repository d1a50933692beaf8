"""offers_for: price, tax and availability of variants in a market context."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from catalog.demo import generated_specs, products_bulk_create
from catalog.models import Variant
from pricing.demo import demo_offers_create
from pricing.derivation import derived_prices_rebuild, price_list_rebuild
from pricing.models import MarketPriceList, PriceEntry, PriceList, StockLevel, StockPool
from pricing.offers import Availability, PriceContext, offers_for
from pricing.services import market_price_lists_unassign, price_set, stock_reserve, stock_set
from shop.context import MarketContext
from shop.models import Customer, CustomerGroup
from shop.selectors import market_directory

pytestmark = pytest.mark.usefixtures("demo_shop")


def context_for(prefix: str, *, group: str | None = None, at=None) -> PriceContext:
    market, country, language = market_directory().resolve_prefix(prefix)
    group_id = CustomerGroup.objects.get(code=group).pk if group else None
    return PriceContext.from_market(
        MarketContext(
            market=market, country=country, language=language, customer_group_id=group_id
        ),
        at=at,
    )


def offer(sku: str, prefix: str, **options):
    variant = Variant.objects.get(sku=sku)
    return offers_for([variant], context_for(prefix, **options))[variant.pk]


def test_gross_price_is_the_list_price_in_every_country_of_an_incl_tax_market():
    germany, austria, france = (offer("KRV-TEE-M", p) for p in ("de-de", "de-at", "fr-fr"))

    assert [o.gross for o in (germany, austria, france)] == [Decimal("29.90")] * 3
    # The tax part follows the shopper's country: 19% in Germany, 20% in Austria and France.
    assert (germany.net, germany.tax, germany.tax_rate) == (Decimal("25.13"), Decimal("4.77"), 19)
    assert (austria.net, austria.tax) == (Decimal("24.92"), Decimal("4.98"))
    assert germany.price == Decimal("29.90") and germany.currency == "EUR"


def test_turkish_prices_come_from_the_lira_list():
    turkey = offer("KRV-TEE-M", "tr-tr")

    assert (turkey.price, turkey.currency, turkey.tax_rate) == (Decimal("999.90"), "TRY", 20)
    assert turkey.net + turkey.tax == turkey.gross


def test_us_market_shows_net_prices_derived_from_the_euro_net_price():
    # 29.90 / 1.19 = 25.1261 net; × 1.08 USD = 27.1361 → .99 rounding → 27.99
    america = offer("KRV-TEE-M", "en-us")

    assert (america.price, america.currency, america.prices_include_tax) == (
        Decimal("27.99"),
        "USD",
        False,
    )
    assert america.net == Decimal("27.99") and america.tax == Decimal("0.00")


def test_uk_price_is_derived_with_uk_vat_and_rounded():
    # 25.1261 net × 0.85 GBP = 21.3571; + 20% VAT = 25.6286 → 25.99
    assert offer("KRV-TEE-M", "en-gb").price == Decimal("25.99")


def test_dealers_get_their_group_list():
    # Dealer list: 15% off the euro net price, German VAT added back: 25.42.
    assert offer("KRV-TEE-M", "de-de", group="dealer").price == Decimal("25.42")
    assert offer("KRV-TEE-M", "de-de").price == Decimal("29.90")


def test_a_group_without_its_own_list_in_a_market_gets_retail_prices():
    assert offer("KRV-TEE-M", "tr-tr", group="dealer").price == Decimal("999.90")


def test_the_middleware_passes_the_signed_in_customers_group(client):
    user = get_user_model().objects.create_user("dealer", "dealer@example.com", "pw")
    Customer.objects.create(user=user, group=CustomerGroup.objects.get(code="dealer"))
    client.force_login(user)

    response = client.get("/de-de/sku/KRV-TEE-M/", follow=True)

    assert response.context["offer"].price == Decimal("25.42")


def test_a_sale_price_applies_only_between_its_dates():
    eur = PriceList.objects.get(code="eur-retail")
    variant = Variant.objects.get(sku="KRV-TEE-M")
    now = timezone.now()
    price_set(
        price_list=eur,
        variant_id=variant.pk,
        amount=Decimal("29.90"),
        sale_amount=Decimal("19.90"),
        sale_starts_at=now + timedelta(days=1),
        sale_ends_at=now + timedelta(days=8),
    )

    before = offer("KRV-TEE-M", "de-de", at=now)
    during = offer("KRV-TEE-M", "de-de", at=now + timedelta(days=2))
    after = offer("KRV-TEE-M", "de-de", at=now + timedelta(days=8))

    assert (before.price, before.is_on_sale, before.was) == (Decimal("29.90"), False, None)
    assert (during.price, during.is_on_sale, during.was) == (
        Decimal("19.90"),
        True,
        Decimal("29.90"),
    )
    assert (after.price, after.is_on_sale) == (Decimal("29.90"), False)


def test_a_sale_on_the_source_list_carries_into_derived_lists():
    eur = PriceList.objects.get(code="eur-retail")
    variant = Variant.objects.get(sku="KRV-TEE-M")
    price_set(
        price_list=eur, variant_id=variant.pk, amount=Decimal("29.90"), sale_amount=Decimal("23.80")
    )

    america = offer("KRV-TEE-M", "en-us")

    # 23.80 / 1.19 × 1.08 = 21.60 → 21.99
    assert (america.price, america.was) == (Decimal("21.99"), Decimal("27.99"))


def test_a_manual_price_on_a_derived_list_overrides_the_rule():
    usd = PriceList.objects.get(code="usd-retail")
    variant = Variant.objects.get(sku="KRV-TEE-M")
    price_set(price_list=usd, variant_id=variant.pk, amount=Decimal("25.00"))

    derived_prices_rebuild()

    assert offer("KRV-TEE-M", "en-us").price == Decimal("25.00")
    assert PriceEntry.objects.get(price_list=usd, variant=variant).is_manual


def test_availability_adds_up_the_markets_pools():
    # KRV-TEE-M holds 40 in Istanbul and 60 in Rotterdam; Europe draws from Rotterdam only.
    assert offer("KRV-TEE-M", "de-de").available_quantity == 60
    assert offer("KRV-TEE-M", "tr-tr").available_quantity == 40


def test_reserved_units_are_not_available():
    variant = Variant.objects.get(sku="KRV-TEE-M")
    StockLevel.objects.filter(variant=variant, pool__code="rotterdam").update(reserved=58)

    result = offer("KRV-TEE-M", "de-de")

    assert (result.available_quantity, result.availability) == (2, Availability.LOW_STOCK)


def test_out_of_stock_and_backorder():
    variant = Variant.objects.get(sku="KRV-TEE-M")
    rotterdam = StockPool.objects.get(code="rotterdam")
    stock_set(variant=variant, pool_id=rotterdam.pk, quantity=0)

    assert offer("KRV-TEE-M", "de-de").availability == Availability.OUT_OF_STOCK
    assert not offer("KRV-TEE-M", "de-de").can_buy

    Variant.objects.filter(pk=variant.pk).update(allows_backorder=True)

    assert offer("KRV-TEE-M", "de-de").availability == Availability.BACKORDER
    assert offer("KRV-TEE-M", "de-de").can_buy


def test_a_variant_without_a_price_in_the_market_is_not_sold():
    variant = Variant.objects.get(sku="KRV-TEE-M")
    PriceEntry.objects.filter(variant=variant, price_list__code="try-retail").delete()

    result = offer("KRV-TEE-M", "tr-tr")

    assert (result.price, result.availability, result.can_buy) == (
        None,
        Availability.NOT_SOLD,
        False,
    )


def test_offers_for_runs_two_queries_for_any_number_of_variants(django_assert_num_queries):
    specs = list(generated_specs(30, prefix="QTEST"))
    products_bulk_create(specs)
    demo_offers_create(specs)
    derived_prices_rebuild()
    few = list(Variant.objects.filter(sku__startswith="KRV-"))
    many = list(Variant.objects.all())
    context = context_for("de-de")
    offers_for(few, context)  # warms the cached market configuration and tax rates

    # Price entries and stock: 2 queries, whatever the number of variants
    # (3 right after a change, when the tax rates are read again).
    with django_assert_num_queries(2):
        offers_for(few, context)
    with django_assert_num_queries(2):
        result = offers_for(many, context)

    assert len(many) > 40 and len(result) == len(many)


def test_reserved_may_not_exceed_quantity_unless_backorder_is_allowed():
    level = StockLevel.objects.get(variant__sku="KRV-TEE-M", pool__code="rotterdam")

    with pytest.raises(IntegrityError), transaction.atomic():
        StockLevel.objects.filter(pk=level.pk).update(reserved=61)

    Variant.objects.filter(sku="KRV-TEE-M").update(allows_backorder=True)
    StockLevel.objects.filter(pk=level.pk).update(reserved=61)  # a backorder
    level.refresh_from_db()
    assert (level.reserved, level.allows_backorder) == (61, True)

    # Switching backorder off while units are promised beyond stock is refused.
    with pytest.raises(IntegrityError), transaction.atomic():
        Variant.objects.filter(sku="KRV-TEE-M").update(allows_backorder=False)


def test_a_rule_that_would_make_a_price_free_leaves_it_out_and_says_so():
    usd = PriceList.objects.get(code="usd-retail")
    usd.adjustment_amount = Decimal("-100")
    usd.save()

    report = price_list_rebuild(usd)

    assert "would be zero or less" in report.problem
    assert not PriceEntry.objects.filter(price_list=usd, variant__sku="KRV-TEE-M").exists()
    assert offer("KRV-TEE-M", "en-us").availability == Availability.NOT_SOLD


def test_saving_a_stock_level_keeps_reservations_made_meanwhile():
    level = StockLevel.objects.get(variant__sku="KRV-TEE-M", pool__code="rotterdam")
    variant = Variant.objects.get(sku="KRV-TEE-M")
    stock_reserve(variant_id=variant.pk, pool_ids=[level.pool_id], quantity=3)

    level.quantity = 100  # a form that loaded the row before the reservation
    level.save()

    level.refresh_from_db()
    assert (level.quantity, level.reserved) == (100, 3)


def test_removing_a_group_list_in_bulk_stops_its_prices(django_capture_on_commit_callbacks):
    assert offer("KRV-TEE-M", "de-de", group="dealer").price == Decimal("25.42")

    with django_capture_on_commit_callbacks(execute=True):
        market_price_lists_unassign(MarketPriceList.objects.filter(customer_group__code="dealer"))

    assert offer("KRV-TEE-M", "de-de", group="dealer").price == Decimal("29.90")
