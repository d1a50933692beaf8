"""Tax rates: a missing rate is never 0 % tax; the demo covers every country it sells to."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pycountry
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.models import Product, ProductType, TaxClass
from pricing import tax
from pricing.demo import pricing_demo_setup
from pricing.derivation import price_list_rebuild
from pricing.models import PriceEntry, TaxRate
from pricing.tax import MissingTaxRate, missing_tax_rates, rate_in, rate_required, tax_table
from shop.models import EU_MEMBER_STATES

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _missing_rates_not_yet_reported() -> Iterator[None]:
    """Each test starts as a fresh process would: no missing rate reported yet."""
    tax._missing_reported.clear()
    yield
    tax._missing_reported.clear()


def class_id(code: str) -> int:
    return TaxClass.objects.get(code=code).pk


def errors_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "pricing.tax" and record.levelno == logging.ERROR
    ]


def test_a_required_rate_missing_raises_with_a_message_for_the_merchant(demo_price_lists):
    table = tax_table(["DE", "US", "CH"], on=timezone.localdate())

    assert rate_required(table, "DE", class_id("standard")) == Decimal("19")
    # The US has no national tax: an explicit 0 % row, not a missing one.
    assert rate_required(table, "US", class_id("standard")) == Decimal("0")
    with pytest.raises(MissingTaxRate) as missing:
        rate_required(table, "CH", class_id("standard"))

    assert (missing.value.country, missing.value.tax_class_id) == ("CH", class_id("standard"))
    assert "No tax rate is set" in missing.value.message


def test_a_missing_rate_for_display_is_logged_once_per_country_and_class(demo_price_lists, caplog):
    table = tax_table(["CH"], on=timezone.localdate())

    with caplog.at_level(logging.ERROR, logger="pricing.tax"):
        shown = [rate_in(table, "CH", class_id("standard")) for _request in range(3)]
        rate_in(table, "CH", class_id("reduced"))

    assert shown == [Decimal(0)] * 3
    assert len(errors_logged(caplog)) == 2
    assert "no tax rate for tax class" in errors_logged(caplog)[0]


def test_the_storefront_shows_the_page_and_logs_a_missing_rate_once(demo_shop, client, caplog):
    # given: Germany's standard rate was deleted by mistake
    TaxRate.objects.filter(country_id="DE", tax_class__code="standard").delete()

    # when: two shoppers open the page
    with caplog.at_level(logging.ERROR, logger="pricing.tax"):
        first = client.get("/de-de/p/kervan-t-shirt/")
        second = client.get("/de-de/p/kervan-t-shirt/?variant=KRV-TEE-M")

    # then: the page still shows; the error is logged once, not per request
    assert (first.status_code, second.status_code) == (200, 200)
    assert len(errors_logged(caplog)) == 1
    assert "DE" in errors_logged(caplog)[0]


def test_a_derived_price_needing_a_missing_rate_is_left_out_and_reported(demo_shop):
    # given: no UK standard rate, so the gross pound price cannot be computed
    TaxRate.objects.filter(country_id="GB", tax_class__code="standard").delete()
    gbp = demo_shop["gb"].price_lists.get(customer_group=None).price_list

    # when
    report = price_list_rebuild(gbp)

    # then: never priced as if the UK had no VAT
    assert not PriceEntry.objects.filter(price_list=gbp, variant__sku="KRV-TEE-M").exists()
    assert "No tax rate is set" in report.problem and "GB" in report.problem


def test_missing_rates_are_listed_for_served_countries_and_used_classes(demo_shop):
    assert missing_tax_rates() == []

    # given: a product in the reduced class, and France's reduced rate gone
    reduced = TaxClass.objects.get(code="reduced")
    Product.objects.create(product_type=ProductType.objects.create(name="Book"), tax_class=reduced)
    TaxRate.objects.filter(country_id="FR", tax_class=reduced).delete()
    # A class no product uses is not reported.
    TaxClass.objects.create(code="luxury", name="Luxury")

    assert [(gap.country, gap.tax_class.code) for gap in missing_tax_rates()] == [("FR", "reduced")]


def test_the_tax_class_list_warns_the_merchant_about_missing_rates(admin_client, demo_shop):
    TaxRate.objects.filter(country_id="AT", tax_class__code="standard").delete()

    response = admin_client.get("/admin/catalog/taxclass/")
    rates_page = admin_client.get("/admin/pricing/taxrate/")

    warnings = [str(message) for message in response.context["messages"]]
    assert warnings == [
        "1 tax rate is missing, so checkout refuses these sales: Standard rate (AT). "
        "Add the rate on the tax class's page."
    ]
    assert "Standard rate (AT)" in rates_page.content.decode()


# Demo tax data


def test_the_demo_has_vat_for_every_eu_member_state_the_uk_and_turkiye(demo_price_lists):
    today = timezone.localdate()
    table = tax_table([*EU_MEMBER_STATES, "GB", "TR", "US"], on=today)

    for country in [*EU_MEMBER_STATES, "GB", "TR"]:
        standard = rate_required(table, country, class_id("standard"))
        reduced = rate_required(table, country, class_id("reduced"))
        assert Decimal(17) <= standard <= Decimal(27), country
        assert Decimal(0) < reduced <= standard, country
        assert rate_required(table, country, class_id("zero")) == 0
    assert rate_required(table, "FI", class_id("standard")) == Decimal("25.5")
    assert rate_required(table, "US", class_id("reduced")) == 0


def test_sweden_halves_vat_on_food_from_april_2026_to_the_end_of_2027(demo_price_lists):
    def reduced_on(day: date) -> Decimal:
        return rate_required(tax_table(["SE"], on=day), "SE", class_id("reduced"))

    assert reduced_on(date(2026, 3, 31)) == 12
    assert reduced_on(date(2026, 12, 1)) == 6
    assert reduced_on(date(2028, 1, 1)) == 12


def test_the_demo_has_sales_tax_for_every_us_state_and_dc(demo_price_lists):
    states = {
        subdivision.code
        for subdivision in pycountry.subdivisions.get(country_code="US")
        if subdivision.type in {"State", "District"}
    }
    rows = TaxRate.objects.filter(country_id="US", region__isnull=False, valid_to__isnull=True)
    by_state = {
        (code, tax_class): rate
        for code, tax_class, rate in rows.values_list("region__code", "tax_class__code", "rate")
    }

    assert len(states) == 51
    for state in states:
        for tax_class in ("standard", "reduced", "zero"):
            assert (state, tax_class) in by_state, (state, tax_class)
    for state in ("US-DE", "US-MT", "US-NH", "US-OR", "US-AK"):
        assert by_state[state, "standard"] == 0
    assert by_state["US-CA", "standard"] == Decimal("7.25")
    assert by_state["US-NY", "zero"] == 0


def test_the_demo_tax_setup_is_idempotent_and_takes_few_queries(demo_price_lists):
    count = TaxRate.objects.count()

    with CaptureQueriesContext(connection) as queries:
        pricing_demo_setup()

    assert TaxRate.objects.count() == count
    tax_queries = [q for q in queries if '"pricing_taxrate"' in q["sql"]]
    # Read what is there; nothing to create or update the second time.
    assert len(tax_queries) <= 2
