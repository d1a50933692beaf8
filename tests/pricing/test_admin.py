"""Merchants manage price lists, prices, exchange rates, tax and stock in the admin."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import Product, ProductTranslation, ProductType, TaxClass, Variant
from pricing.admin import PricedProductAdmin, PricedVariantAdmin, prices_and_stock_table
from pricing.models import (
    ExchangeRate,
    PriceEntry,
    PriceList,
    StockLevel,
    StockPool,
    TaxRate,
)
from pricing.services import price_set, stock_set

pytestmark = pytest.mark.django_db


def variant_make(sku: str = "LS-WHITE-M") -> Variant:
    product = Product.objects.create(
        product_type=ProductType.objects.get_or_create(name="Shirt")[0],
        tax_class=TaxClass.objects.get(code="standard"),
    )
    ProductTranslation.objects.create(
        product=product, language="en", name="Linen shirt", slug=sku.lower()
    )
    return Variant.objects.create(product=product, sku=sku)


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


@pytest.mark.parametrize(
    "url",
    [
        "/admin/pricing/",
        "/admin/catalog/taxclass/",
        "/admin/catalog/taxclass/add/",
        "/admin/catalog/taxclass/{tax_class}/change/",
        "/admin/pricing/taxrate/",
        "/admin/pricing/taxrate/?country__code__exact=DE",
        "/admin/pricing/taxrate/add/",
        "/admin/pricing/pricelist/",
        "/admin/pricing/pricelist/add/",
        "/admin/pricing/pricelist/{price_list}/change/",
        "/admin/pricing/exchangerate/",
        "/admin/pricing/exchangerate/add/",
        "/admin/pricing/stockpool/",
        "/admin/pricing/stockpool/add/",
        "/admin/pricing/stocklevel/",
        "/admin/pricing/stocklevel/?pool__id__exact={pool}&q=ls-white",
        "/admin/pricing/stocklevel/add/",
        "/admin/pricing/stocklevel/{stock_level}/change/",
        "/admin/pricing/marketpricelist/",
        "/admin/pricing/marketpricelist/add/",
        "/admin/pricing/marketstockpool/",
        "/admin/pricing/marketstockpool/add/",
    ],
)
def test_pricing_admin_pages_open(admin_client, demo_price_lists, url):
    variant = variant_make()
    price_set(
        price_list=demo_price_lists["eur-retail"], variant_id=variant.pk, amount=Decimal("29.90")
    )
    pool = StockPool.objects.get(code="rotterdam")
    level = stock_set(variant=variant, pool_id=pool.pk, quantity=5)
    ids = {
        "tax_class": TaxClass.objects.get(code="standard").pk,
        "price_list": demo_price_lists["usd-retail"].pk,
        "pool": pool.pk,
        "stock_level": level.pk,
    }

    assert admin_client.get(url.format(**ids)).status_code == 200


# Prices and stock on the product's page


@pytest.fixture
def priced_variant(demo_price_lists) -> Variant:
    """29.90 EUR by hand (the USD list follows by its rule), 12 units in Rotterdam."""
    variant = variant_make()
    price_set(
        price_list=demo_price_lists["eur-retail"], variant_id=variant.pk, amount=Decimal("29.90")
    )
    stock_set(variant=variant, pool_id=StockPool.objects.get(code="rotterdam").pk, quantity=12)
    return variant


def test_the_catalogues_product_and_variant_pages_show_prices_and_stock():
    assert type(admin.site._registry[Product]) is PricedProductAdmin
    assert type(admin.site._registry[Variant]) is PricedVariantAdmin


def test_the_product_page_shows_each_variants_prices_and_stock(admin_client, priced_variant):
    # given: 2 of the 12 units in Rotterdam are reserved
    StockLevel.objects.filter(variant=priced_variant).update(reserved=2)

    response = admin_client.get(f"/admin/catalog/product/{priced_variant.product_id}/change/")

    page = response.content.decode()
    assert f'href="/admin/catalog/variant/{priced_variant.pk}/change/"' in page
    table = prices_and_stock_table(priced_variant.product)
    row = table["rows"][0]
    columns = [price_list.code for price_list in table["price_lists"]]
    prices = dict(zip(columns, row.prices, strict=True))
    assert (prices["eur-retail"].amount, prices["eur-retail"].is_rule) == (Decimal("29.90"), False)
    assert (prices["usd-retail"].amount, prices["usd-retail"].is_rule) == (Decimal("27.99"), True)
    assert prices["try-retail"] is None
    pools = [pool.code for pool in table["pools"]]
    assert dict(zip(pools, row.stock, strict=True)) == {"istanbul": None, "rotterdam": 10}
    assert "27.99 USD" in page
    assert "rule" in page


def test_a_new_product_page_has_no_prices_and_stock_yet(admin_client, demo_price_lists):
    page = admin_client.get("/admin/catalog/product/add/").content.decode()

    assert "Prices and stock" not in page
    assert "Shipping and customs" in page


def test_the_prices_and_stock_table_costs_five_queries_for_any_number_of_variants(
    django_assert_num_queries, priced_variant
):
    product = priced_variant.product
    # price lists, pools, variants, their price entries, their stock levels
    with django_assert_num_queries(5):
        prices_and_stock_table(product)
    for number in range(5):
        variant = Variant.objects.create(product=product, sku=f"LS-{number}")
        price_set(
            price_list=PriceList.objects.get(code="eur-retail"),
            variant_id=variant.pk,
            amount=Decimal(10),
        )

    with django_assert_num_queries(5):
        table = prices_and_stock_table(product)

    assert len(table["rows"]) == 6


def test_products_are_filtered_by_stock_status(admin_client, demo_price_lists):
    # given: pool quantities minus reservations against a threshold of 5
    rotterdam = StockPool.objects.get(code="rotterdam")
    istanbul = StockPool.objects.get(code="istanbul")
    plenty = variant_make("PLENTY")
    stock_set(variant=plenty, pool_id=rotterdam.pk, quantity=4)
    stock_set(variant=plenty, pool_id=istanbul.pk, quantity=4)
    few = variant_make("FEW")
    level = stock_set(variant=few, pool_id=rotterdam.pk, quantity=20)
    StockLevel.objects.filter(pk=level.pk).update(reserved=16)
    none_left = variant_make("NONE")
    stock_set(variant=none_left, pool_id=rotterdam.pk, quantity=0)
    never_stocked = variant_make("NEVER")

    def listed(status: str) -> set[int]:
        response = admin_client.get("/admin/catalog/product/", {"stock": status})
        return {product.pk for product in response.context["cl"].result_list}

    # then
    assert listed("in") == {plenty.product_id}
    assert listed("low") == {few.product_id}
    assert listed("out") == {none_left.product_id, never_stocked.product_id}


def test_price_entries_by_hand_start_out_manual(priced_variant):
    assert PriceEntry.objects.get(variant=priced_variant, price_list__code="eur-retail").is_manual


# Prices on the variant's page


def variant_form(variant: Variant, prices: list[dict[str, object]]) -> dict[str, object]:
    data: dict[str, object] = {
        "sku": variant.sku,
        "gtin": variant.gtin,
        "low_stock_threshold": str(variant.low_stock_threshold),
        "position": str(variant.position),
        "is_active": "on",
        "price_entries-TOTAL_FORMS": str(len(prices)),
        "price_entries-INITIAL_FORMS": str(sum("id" in price for price in prices)),
        "price_entries-MIN_NUM_FORMS": "0",
        "price_entries-MAX_NUM_FORMS": "1000",
        "stock_levels-TOTAL_FORMS": "0",
        "stock_levels-INITIAL_FORMS": "0",
        "stock_levels-MIN_NUM_FORMS": "0",
        "stock_levels-MAX_NUM_FORMS": "1000",
    }
    for index, price in enumerate(prices):
        data.update({f"price_entries-{index}-{name}": value for name, value in price.items()})
    return data


def test_a_manual_euro_price_saved_on_a_variant_moves_the_derived_dollar_price(
    admin_client, demo_price_lists
):
    # given
    variant = variant_make()
    eur, usd = demo_price_lists["eur-retail"], demo_price_lists["usd-retail"]

    # when: 29.90 EUR incl. 19% DE tax = 25.13 net, × 1.08 = 27.13, rounded to .99
    response = admin_client.post(
        f"/admin/catalog/variant/{variant.pk}/change/",
        variant_form(variant, [{"price_list": eur.pk, "amount": "29.90", "is_manual": "on"}]),
    )

    # then
    assert response.status_code == 302
    usd_entry = PriceEntry.objects.get(price_list=usd, variant=variant)
    assert (usd_entry.amount, usd_entry.is_manual) == (Decimal("27.99"), False)
    assert PriceEntry.objects.get(price_list__code="eur-dealer", variant=variant).amount > 0


def test_a_price_typed_on_a_derived_list_is_manual_and_stays(admin_client, demo_price_lists):
    # given: the USD price comes from the rule
    variant = variant_make()
    eur, usd = demo_price_lists["eur-retail"], demo_price_lists["usd-retail"]
    eur_entry = price_set(price_list=eur, variant_id=variant.pk, amount=Decimal("29.90"))
    usd_entry = PriceEntry.objects.get(price_list=usd, variant=variant)
    assert not usd_entry.is_manual

    # when: the merchant types 25 USD without ticking "set by hand"
    response = admin_client.post(
        f"/admin/catalog/variant/{variant.pk}/change/",
        variant_form(
            variant,
            [
                {"id": eur_entry.pk, "price_list": eur.pk, "amount": "29.90", "is_manual": "on"},
                {"id": usd_entry.pk, "price_list": usd.pk, "amount": "25.00"},
            ],
        ),
    )
    price_set(price_list=eur, variant_id=variant.pk, amount=Decimal("49.90"))

    # then
    assert response.status_code == 302
    usd_entry.refresh_from_db()
    assert (usd_entry.amount, usd_entry.is_manual) == (Decimal("25.00"), True)


def test_unticking_set_by_hand_gives_the_price_back_to_the_rule(admin_client, demo_price_lists):
    # given: a USD price typed by hand
    variant = variant_make()
    eur, usd = demo_price_lists["eur-retail"], demo_price_lists["usd-retail"]
    eur_entry = price_set(price_list=eur, variant_id=variant.pk, amount=Decimal("29.90"))
    usd_entry = price_set(price_list=usd, variant_id=variant.pk, amount=Decimal("25.00"))

    # when
    response = admin_client.post(
        f"/admin/catalog/variant/{variant.pk}/change/",
        variant_form(
            variant,
            [
                {"id": eur_entry.pk, "price_list": eur.pk, "amount": "29.90", "is_manual": "on"},
                {"id": usd_entry.pk, "price_list": usd.pk, "amount": "25.00"},
            ],
        ),
    )

    # then
    assert response.status_code == 302
    usd_entry.refresh_from_db()
    assert (usd_entry.amount, usd_entry.is_manual) == (Decimal("27.99"), False)


def test_removing_a_price_removes_the_prices_derived_from_it(admin_client, demo_price_lists):
    variant = variant_make()
    eur = demo_price_lists["eur-retail"]
    eur_entry = price_set(price_list=eur, variant_id=variant.pk, amount=Decimal("29.90"))
    prices = [{"id": eur_entry.pk, "price_list": eur.pk, "amount": "29.90", "DELETE": "on"}]

    response = admin_client.post(
        f"/admin/catalog/variant/{variant.pk}/change/", variant_form(variant, prices)
    )

    assert response.status_code == 302
    assert not PriceEntry.objects.filter(variant=variant).exists()


def test_a_negative_price_and_a_sale_ending_before_it_starts_are_explained(
    admin_client, demo_price_lists
):
    variant = variant_make()
    price = {
        "price_list": demo_price_lists["eur-retail"].pk,
        "amount": "-1",
        "sale_amount": "5",
        "sale_starts_at_0": "2026-03-10",
        "sale_starts_at_1": "00:00:00",
        "sale_ends_at_0": "2026-03-01",
        "sale_ends_at_1": "00:00:00",
    }

    response = admin_client.post(
        f"/admin/catalog/variant/{variant.pk}/change/", variant_form(variant, [price])
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "A price cannot be negative." in page
    assert "The sale must end after it starts." in page
    assert not PriceEntry.objects.filter(variant=variant).exists()


def test_a_stock_quantity_below_the_reserved_units_is_explained(admin_client, demo_price_lists):
    variant = variant_make()
    pool = StockPool.objects.get(code="rotterdam")
    level = stock_set(variant=variant, pool_id=pool.pk, quantity=10)
    StockLevel.objects.filter(pk=level.pk).update(reserved=4)
    data = variant_form(variant, [])
    data.update(
        {
            "stock_levels-TOTAL_FORMS": "1",
            "stock_levels-INITIAL_FORMS": "1",
            "stock_levels-0-id": str(level.pk),
            "stock_levels-0-pool": str(pool.pk),
            "stock_levels-0-quantity": "3",
        }
    )

    response = admin_client.post(f"/admin/catalog/variant/{variant.pk}/change/", data)

    assert response.status_code == 200
    assert "4 units are reserved for orders: the quantity cannot be lower." in (
        response.content.decode()
    )
    level.refresh_from_db()
    assert level.quantity == 10


# Price lists


def price_list_form(price_list: PriceList, **overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "code": price_list.code,
        "name": price_list.name,
        "currency": price_list.currency,
        "tax_country": price_list.tax_country_id or "",
        "source": price_list.source_id or "",
        "adjustment_percent": str(price_list.adjustment_percent),
        "adjustment_amount": str(price_list.adjustment_amount),
        "rounding": price_list.rounding,
    }
    if price_list.includes_tax:
        data["includes_tax"] = "on"
    data.update(overrides)
    return data


def test_a_price_list_cannot_derive_from_itself(admin_client, demo_price_lists):
    eur = demo_price_lists["eur-retail"]

    response = admin_client.post(
        f"/admin/pricing/pricelist/{eur.pk}/change/", price_list_form(eur, source=eur.pk)
    )

    assert response.status_code == 200
    assert "A price list cannot derive from itself." in response.content.decode()
    eur.refresh_from_db()
    assert eur.source_id is None


def test_the_price_list_page_counts_its_prices(admin_client, demo_price_lists):
    for sku in ("A-1", "A-2"):
        price_set(
            price_list=demo_price_lists["eur-retail"],
            variant_id=variant_make(sku).pk,
            amount=Decimal(10),
        )

    response = admin_client.get("/admin/pricing/pricelist/")

    counts = {row.code: row.entry_count for row in response.context["cl"].result_list}
    assert counts["eur-retail"] == 2
    assert counts["usd-retail"] == 2
    assert counts["try-retail"] == 0


def test_recomputing_a_derived_list_reports_how_many_prices_changed(admin_client, demo_price_lists):
    # given: a euro price stored without the derived lists following
    variant = variant_make()
    PriceEntry.objects.create(
        price_list=demo_price_lists["eur-retail"], variant=variant, amount=Decimal("29.90")
    )
    usd = demo_price_lists["usd-retail"]

    # when
    response = admin_client.post(
        "/admin/pricing/pricelist/",
        {"action": "recompute_derived_prices", "_selected_action": [usd.pk]},
        follow=True,
    )

    # then
    assert messages_of(response) == ["US dollar retail (USD): 1 price recomputed."]
    assert PriceEntry.objects.get(price_list=usd, variant=variant).amount == Decimal("27.99")


def test_recomputing_a_list_typed_by_hand_recomputes_the_lists_derived_from_it(
    admin_client, demo_price_lists
):
    variant = variant_make()
    eur = demo_price_lists["eur-retail"]
    PriceEntry.objects.create(price_list=eur, variant=variant, amount=Decimal("29.90"))

    response = admin_client.post(
        "/admin/pricing/pricelist/",
        {"action": "recompute_derived_prices", "_selected_action": [eur.pk]},
        follow=True,
    )

    # eur-dealer, gbp-retail and usd-retail follow eur-retail
    assert messages_of(response) == ["Euro retail (EUR): 3 prices recomputed."]
    assert PriceEntry.objects.filter(variant=variant, is_manual=False).count() == 3


def test_recomputing_without_an_exchange_rate_reports_the_problem(admin_client, demo_price_lists):
    PriceEntry.objects.create(
        price_list=demo_price_lists["eur-retail"], variant=variant_make(), amount=Decimal("29.90")
    )
    ExchangeRate.objects.filter(currency="USD").delete()
    usd = demo_price_lists["usd-retail"]

    response = admin_client.post(
        "/admin/pricing/pricelist/",
        {"action": "recompute_derived_prices", "_selected_action": [usd.pk]},
        follow=True,
    )

    assert messages_of(response) == [
        "Prices of the list usd-retail were not recomputed: "
        "no exchange rate for USD: run update_rates or add one by hand."
    ]
    assert not PriceEntry.objects.filter(price_list=usd).exists()


# Exchange rates


def test_a_reference_rate_from_the_ecb_is_read_only(admin_client, demo_price_lists):
    rate = ExchangeRate.objects.get(currency="USD", source=ExchangeRate.Source.ECB)
    url = f"/admin/pricing/exchangerate/{rate.pk}/change/"

    page = admin_client.get(url)
    attempt = admin_client.post(
        url, {"currency": "USD", "rate": "2", "effective_date": "2026-11-20"}
    )

    assert page.status_code == 200
    assert 'name="rate"' not in page.content.decode()
    assert attempt.status_code == 403
    rate.refresh_from_db()
    assert rate.rate == Decimal("1.08")


def test_a_merchant_adds_a_manual_rate(admin_client, demo_price_lists):
    response = admin_client.post(
        "/admin/pricing/exchangerate/add/",
        {
            "currency": "usd",
            "rate": "1.1000",
            "effective_date": "2026-11-20",
            "source": ExchangeRate.Source.ECB,
            "is_pinned": "on",
        },
    )

    assert response.status_code == 302
    manual = ExchangeRate.objects.get(source=ExchangeRate.Source.MANUAL)
    assert (manual.currency, manual.rate, manual.is_pinned) == ("USD", Decimal("1.1"), True)
    changed = admin_client.post(
        f"/admin/pricing/exchangerate/{manual.pk}/change/",
        {"currency": "USD", "rate": "1.2", "effective_date": "2026-11-20"},
    )
    assert changed.status_code == 302
    manual.refresh_from_db()
    assert (manual.rate, manual.is_pinned, manual.source) == (Decimal("1.2"), False, "manual")


@pytest.mark.parametrize(
    ("currency", "message"),
    [
        ("EUR", "Rates are units per euro: the euro itself is always 1."),
        ("XYZ", "XYZ is not an ISO 4217 currency code."),
    ],
)
def test_a_rate_for_the_euro_or_an_unknown_currency_is_refused(
    admin_client, demo_price_lists, currency, message
):
    response = admin_client.post(
        "/admin/pricing/exchangerate/add/",
        {"currency": currency, "rate": "1.5", "effective_date": "2026-11-21"},
    )

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not ExchangeRate.objects.filter(source=ExchangeRate.Source.MANUAL).exists()


def test_a_second_manual_rate_on_the_same_day_is_explained(admin_client, demo_price_lists):
    ExchangeRate.objects.create(
        currency="USD", rate=Decimal("1.1"), effective_date="2026-11-21", source="manual"
    )

    response = admin_client.post(
        "/admin/pricing/exchangerate/add/",
        {"currency": "USD", "rate": "1.2", "effective_date": "2026-11-21"},
    )

    assert response.status_code == 200
    assert "already exists" in response.content.decode()


# Stock


@pytest.fixture
def stock_levels(demo_price_lists) -> list[StockLevel]:
    """Three stock levels in Rotterdam: 5, 0 and 7 units (2 of the 7 reserved)."""
    pool = StockPool.objects.get(code="rotterdam")
    levels = [
        stock_set(variant=variant_make(sku), pool_id=pool.pk, quantity=quantity)
        for sku, quantity in (("A-1", 5), ("A-2", 0), ("A-3", 7))
    ]
    StockLevel.objects.filter(pk=levels[2].pk).update(reserved=2)
    return levels


def quantities(levels: list[StockLevel]) -> list[int]:
    by_id = dict(StockLevel.objects.values_list("id", "quantity"))
    return [by_id[level.pk] for level in levels]


def test_adding_ten_units_is_one_update_in_sql(admin_client, stock_levels):
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.post(
            "/admin/pricing/stocklevel/",
            {
                "action": "quantity_add_ten",
                "_selected_action": [level.pk for level in stock_levels],
            },
        )

    updates = [query["sql"] for query in queries if query["sql"].startswith("UPDATE")]
    assert len(updates) == 1
    assert '"quantity" + 10' in updates[0]
    assert quantities(stock_levels) == [15, 10, 17]
    followed = admin_client.get(response.url)
    assert messages_of(followed) == ["10 units added to each of 3 stock levels."]


def test_setting_quantities_to_zero_keeps_those_reserved_for_orders(admin_client, stock_levels):
    response = admin_client.post(
        "/admin/pricing/stocklevel/",
        {"action": "quantity_set_zero", "_selected_action": [level.pk for level in stock_levels]},
        follow=True,
    )

    assert quantities(stock_levels) == [0, 0, 7]
    assert messages_of(response) == [
        "2 stock levels set to zero.",
        "1 stock level kept its quantity: units are reserved for orders "
        "and the variant does not allow backorder.",
    ]


def test_stock_is_edited_in_the_list(admin_client, stock_levels):
    data = {
        "form-TOTAL_FORMS": "3",
        "form-INITIAL_FORMS": "3",
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "1000",
        "_save": "Save",
    }
    listed = admin_client.get("/admin/pricing/stocklevel/").context["cl"].result_list
    for index, level in enumerate(listed):
        data[f"form-{index}-id"] = str(level.pk)
        data[f"form-{index}-quantity"] = str(level.quantity + 1)

    response = admin_client.post("/admin/pricing/stocklevel/", data)

    assert response.status_code == 302
    assert quantities(stock_levels) == [6, 1, 8]


def test_a_markets_price_lists_and_pools_are_listed_by_market(
    admin_client, demo_markets, demo_price_lists
):
    europe = demo_markets["eu"].pk

    lists = admin_client.get("/admin/pricing/marketpricelist/", {"market__id__exact": europe})
    pools = admin_client.get("/admin/pricing/marketstockpool/", {"market__id__exact": europe})

    admin = lists.context["cl"].model_admin
    assert sorted(
        (admin.customer_group_or_retail(link), link.price_list.code)
        for link in lists.context["cl"].result_list
    ) == [("Dealer (B2B)", "eur-dealer"), ("Retail", "eur-retail")]
    assert [link.pool.code for link in pools.context["cl"].result_list] == ["rotterdam"]


def test_tax_rates_are_filtered_by_country(admin_client, demo_price_lists):
    response = admin_client.get("/admin/pricing/taxrate/", {"country__code__exact": "DE"})

    listed = response.context["cl"].result_list
    assert {rate.country_id for rate in listed} == {"DE"}
    assert len(listed) == TaxRate.objects.filter(country_id="DE").count() == 3


def test_the_market_page_shows_its_price_lists_and_stock_pools(admin_client, demo_shop):
    europe = demo_shop["eu"]

    html = admin_client.get(f"/admin/shop/market/{europe.pk}/change/").content.decode()

    assert "price lists (empty customer group: retail)" in html.lower()
    assert "Euro retail (EUR)" in html and "Euro dealer (B2B) (EUR)" in html
    assert "Rotterdam" in html
