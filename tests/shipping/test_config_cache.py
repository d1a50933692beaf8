"""Checkout keeps delivery, tax, rate and payment configuration in memory: every
change made through the admin or the services is seen once it commits."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.admin.sites import site
from django.test import RequestFactory

from payments.models import PaymentMethod
from pricing.rates import ReferenceRates, current_rates, rates_store
from shipping.models import DeliveryCountry, ShippingRate
from shipping.selectors import Destination, destination_check, shipping_options
from shipping.services import delivery_country_set, shipping_rate_upsert
from shop.models import Country

pytestmark = pytest.mark.django_db

BERLIN = Destination(country="DE", city="Berlin", postal_code="10117")


def options() -> list:
    return shipping_options(
        destination=BERLIN, currency="EUR", weight_grams=500, goods_value=Decimal("30.00")
    )


def test_delivery_rules_are_read_once(shipping_demo, django_assert_num_queries):
    destination_check(BERLIN)
    options()

    with django_assert_num_queries(0):
        assert destination_check(BERLIN).ok
        assert options()


def test_a_country_switched_off_in_the_admin_is_refused_at_once(
    admin_client, shipping_demo, django_capture_on_commit_callbacks
):
    assert destination_check(BERLIN).ok
    germany = DeliveryCountry.objects.get(country_id="DE")

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            "/admin/shipping/deliverycountry/",
            {"action": "disable", "_selected_action": [germany.pk]},
        )

    check = destination_check(BERLIN)
    assert (check.ok, check.field) == (False, "country")
    assert options() == []


def test_a_country_switched_off_by_the_service_is_refused_once_committed(
    shipping_demo, django_capture_on_commit_callbacks
):
    assert destination_check(BERLIN).ok

    with django_capture_on_commit_callbacks(execute=True):
        delivery_country_set(country="DE", is_enabled=False)

    assert not destination_check(BERLIN).ok


def test_a_new_rate_is_charged_once_committed(shipping_demo, django_capture_on_commit_callbacks):
    [first, *_rest] = options()
    rate = ShippingRate.objects.get(
        zone__method_id=first.method_id, zone__countries__code="DE", currency="EUR"
    )

    with django_capture_on_commit_callbacks(execute=True):
        shipping_rate_upsert(
            zone=rate.zone, currency="EUR", basis=ShippingRate.Basis.FLAT, amount=Decimal("1.23")
        )

    assert next(o for o in options() if o.method_id == first.method_id).price == Decimal("1.23")


def test_a_postal_code_rule_of_the_country_admin_applies_at_once(
    shipping_demo, django_capture_on_commit_callbacks
):
    without_code = Destination(country="DE", city="Berlin")
    germany = Country.objects.get(pk="DE")
    germany.requires_postal_code = False
    germany.save()
    request = RequestFactory().post("/admin/shop/country/")
    with django_capture_on_commit_callbacks(execute=True):
        site._registry[Country].save_model(request, germany, None, True)
    assert destination_check(without_code).ok

    germany.requires_postal_code = True
    with django_capture_on_commit_callbacks(execute=True):
        site._registry[Country].save_model(request, germany, None, True)

    assert destination_check(without_code).field == "postal_code"


def test_new_exchange_rates_are_used_once_stored(demo_markets, django_capture_on_commit_callbacks):
    from pricing.demo import pricing_demo_setup

    pricing_demo_setup()
    before = current_rates()["USD"]

    with django_capture_on_commit_callbacks(execute=True):
        rates_store(ReferenceRates(date.today(), {"USD": before + Decimal("0.5")}))

    assert current_rates()["USD"] == before + Decimal("0.5")


def test_a_payment_method_saved_in_the_admin_is_offered_at_once(
    checkout_shop, django_capture_on_commit_callbacks
):
    from payments.selectors import payment_methods_for
    from tests.orders.factories import cart_with

    cart = cart_with({"KRV-TEE-M": 1})
    assert [m.code for m in payment_methods_for(cart=cart)] == ["bank-transfer"]
    method = PaymentMethod.objects.get(code="bank-transfer")
    method.is_active = False
    request = RequestFactory().post("/admin/payments/paymentmethod/")

    with django_capture_on_commit_callbacks(execute=True):
        site._registry[PaymentMethod].save_model(request, method, None, True)

    assert payment_methods_for(cart=cart) == []


def test_a_region_changed_in_the_admin_retires_delivery_and_tax_caches(
    shipping_demo, django_capture_on_commit_callbacks
):
    from shop import versions
    from shop.models import Region

    before = versions.versions([versions.SHIPPING, versions.PRICING, versions.MARKETS])
    region = Region.objects.filter(country_id="US").first()
    request = RequestFactory().post("/admin/shop/region/")

    with django_capture_on_commit_callbacks(execute=True):
        site._registry[Region].save_model(request, region, None, True)

    after = versions.versions([versions.SHIPPING, versions.PRICING, versions.MARKETS])
    assert all(after[concern] != before[concern] for concern in before)
