"""Merchants manage delivery regions, methods, rates and duty rules in the admin."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shipping.models import (
    DeliveryCity,
    DeliveryCountry,
    DeliveryRegion,
    DutyRule,
    PostalCodeRule,
    ShippingMethod,
    ShippingRate,
    ShippingZone,
)

pytestmark = pytest.mark.django_db

MODELS = [
    "deliverycountry",
    "deliveryregion",
    "deliverycity",
    "postalcoderule",
    "shippingmethod",
    "shippingzone",
    "shippingrate",
    "customsarea",
    "dutyrule",
]


@pytest.mark.parametrize("model", MODELS)
def test_changelist_and_add_pages_open(admin_client, shipping_demo, model) -> None:
    assert admin_client.get(f"/admin/shipping/{model}/").status_code == 200
    assert admin_client.get(f"/admin/shipping/{model}/add/").status_code == 200


@pytest.mark.parametrize(
    "url",
    [
        "/admin/shipping/",
        "/admin/shipping/deliverycountry/TR/change/",
        "/admin/shipping/deliveryregion/?country=US&is_enabled__exact=0",
        "/admin/shipping/deliveryregion/?q=istanbul",
        "/admin/shipping/deliverycity/{city}/change/",
        "/admin/shipping/shippingmethod/{method}/change/",
        "/admin/shipping/shippingrate/{rate}/change/",
        "/admin/shipping/dutyrule/{rule}/change/",
        "/admin/shipping/customsarea/?q=eu",
    ],
)
def test_change_pages_open(admin_client, shipping_demo, url) -> None:
    ids = {
        "city": DeliveryCity.objects.get(name="İstanbul").pk,
        "method": ShippingMethod.objects.get(code="dhl").pk,
        "rate": ShippingRate.objects.filter(zone__method__code="dhl").first().pk,  # type: ignore[union-attr]
        "rule": DutyRule.objects.first().pk,  # type: ignore[union-attr]
    }
    assert admin_client.get(url.format(**ids)).status_code == 200


def test_the_country_list_shows_what_is_deliverable_at_a_glance(admin_client, shipping_demo):
    page = admin_client.get("/admin/shipping/deliverycountry/").content.decode()
    assert "Türkiye" in page
    # 57 US regions, 5 territories switched off
    us_regions = DeliveryRegion.objects.filter(region__country_id="US").count()
    assert f"{us_regions - 5} of {us_regions}" in page


def test_switching_regions_off_with_an_action(admin_client, shipping_demo):
    guam = DeliveryRegion.objects.get(region__code="US-GU")
    ny = DeliveryRegion.objects.get(region__code="US-NY")
    response = admin_client.post(
        "/admin/shipping/deliveryregion/",
        {"action": "disable", "_selected_action": [ny.pk]},
        follow=True,
    )
    assert response.status_code == 200
    ny.refresh_from_db()
    guam.refresh_from_db()
    assert (ny.is_enabled, guam.is_enabled) == (False, False)


def method_form(**change: str) -> dict[str, str]:
    data = {
        "code": "post",
        "carrier": "Post",
        "names": '{"en": "Standard"}',
        "days_min": "1",
        "days_max": "3",
        "tracking_url_pattern": "https://track.example/?n={number}",
        "is_active": "on",
        "position": "0",
        "zones-TOTAL_FORMS": "0",
        "zones-INITIAL_FORMS": "0",
    }
    return {**data, **change}


def test_a_method_is_added_through_the_admin(admin_client, db):
    response = admin_client.post("/admin/shipping/shippingmethod/add/", method_form())
    assert response.status_code == 302
    assert ShippingMethod.objects.get(code="post").name() == "Standard"


@pytest.mark.parametrize(
    "change",
    [
        {"days_min": "5", "days_max": "2"},
        {"tracking_url_pattern": "https://track.example/"},
        {"names": '{"xx": "Standard"}'},
        {"names": "not json"},
    ],
)
def test_bad_methods_are_refused_in_the_admin(admin_client, db, change):
    response = admin_client.post("/admin/shipping/shippingmethod/add/", method_form(**change))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert not ShippingMethod.objects.exists()


def rate_form(zone: ShippingZone, **change: str) -> dict[str, str]:
    data = {
        "zone": str(zone.pk),
        "currency": "EUR",
        "basis": "weight",
        "amount": "",
        "free_above": "",
        "max_weight_grams": "",
        "includes_tax": "on",
        "brackets-TOTAL_FORMS": "2",
        "brackets-INITIAL_FORMS": "0",
        "brackets-0-up_to": "2000",
        "brackets-0-amount": "5.90",
        "brackets-1-up_to": "",
        "brackets-1-amount": "",
    }
    return {**data, **change}


@pytest.fixture
def zone(db) -> ShippingZone:
    method = ShippingMethod.objects.create(code="dhl", carrier="DHL", names={"en": "DHL"})
    return ShippingZone.objects.create(method=method, name="Germany")


def test_a_weight_rate_is_added_with_brackets(admin_client, zone):
    response = admin_client.post("/admin/shipping/shippingrate/add/", rate_form(zone))
    assert response.status_code == 302
    rate = ShippingRate.objects.get()
    assert [(b.up_to, b.amount) for b in rate.brackets.all()] == [
        (Decimal("2000.00"), Decimal("5.9000"))
    ]


@pytest.mark.parametrize(
    "change",
    [
        {"brackets-0-up_to": "", "brackets-0-amount": ""},  # weight rate without brackets
        {"brackets-1-up_to": "2000", "brackets-1-amount": "7"},  # same bracket twice
        {"brackets-0-amount": "-1"},
        {"basis": "flat", "amount": "4.90"},  # flat rate with brackets
        {"basis": "flat", "brackets-0-up_to": "", "brackets-0-amount": ""},  # flat, no amount
        {"currency": "EUX"},
        {"max_weight_grams": "0"},
    ],
)
def test_bad_rates_are_refused_in_the_admin(admin_client, zone, change):
    response = admin_client.post("/admin/shipping/shippingrate/add/", rate_form(zone, **change))
    assert response.status_code == 200
    assert not ShippingRate.objects.exists()


def test_a_backwards_postal_code_range_is_refused_in_the_admin(admin_client, shipping_demo):
    before = PostalCodeRule.objects.count()
    response = admin_client.post(
        "/admin/shipping/postalcoderule/add/",
        {
            "country": "DE",
            "action": "exclude",
            "kind": "range",
            "value": "",
            "range_start": "20000",
            "range_end": "10000",
            "note": "",
        },
    )
    assert response.status_code == 200
    assert PostalCodeRule.objects.count() == before


def test_a_duty_rule_without_threshold_currency_is_refused_in_the_admin(
    admin_client, shipping_demo
):
    before = DutyRule.objects.count()
    response = admin_client.post(
        "/admin/shipping/dutyrule/add/",
        {
            "area": str(DutyRule.objects.first().area_id),  # type: ignore[union-attr]
            "name": "Broken",
            "position": "0",
            "is_active": "on",
            "valid_from": "2026-01-01",
            "valid_to": "",
            "mode": "ddp",
            "percentage": "5",
            "flat_per_subheading": "0",
            "flat_currency": "",
            "threshold_amount": "100",
            "threshold_currency": "",
            "threshold_applies": "below",
            "chapter_rates-TOTAL_FORMS": "1",
            "chapter_rates-INITIAL_FORMS": "0",
            "chapter_rates-0-hs_chapter": "6",
            "chapter_rates-0-percentage": "5",
        },
    )
    assert response.status_code == 200
    assert DutyRule.objects.count() == before


def test_a_country_switched_off_in_the_list_stops_delivery(admin_client, shipping_demo):
    from shipping.selectors import deliverable_countries

    delivery = DeliveryCountry.objects.get(pk="GB")
    response = admin_client.post(
        "/admin/shipping/deliverycountry/",
        {"action": "disable", "_selected_action": [delivery.pk]},
    )
    assert response.status_code == 302
    assert "GB" not in deliverable_countries()
