"""Where the shop delivers: countries, regions, cities, districts and postal-code rules."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import translation

from shipping.models import DeliveryCity, PostalCodeRule
from shipping.selectors import (
    DeliveryCheck,
    Destination,
    deliverable_countries,
    deliverable_districts,
    deliverable_regions,
    destination_check,
    postal_code_allowed,
)
from shipping.services import (
    delivery_city_upsert,
    delivery_country_set,
    delivery_regions_set,
    postal_code_rule_add,
)

pytestmark = pytest.mark.django_db


def test_a_country_without_delivery_is_refused_on_the_country_field() -> None:
    check = destination_check(Destination(country="CH", postal_code="8001"))
    assert check == DeliveryCheck(ok=False, field="country", message=check.message)
    assert "Switzerland" in check.message


def test_a_switched_off_country_is_refused_and_not_listed() -> None:
    delivery_country_set(country="DE")
    delivery_country_set(country="AT", is_enabled=False)
    assert deliverable_countries() == ["DE"]
    assert destination_check(Destination(country="AT", postal_code="1010")).field == "country"
    assert destination_check(Destination(country="de", postal_code="10115")).ok


def test_refusals_are_translated() -> None:
    with translation.override("de"):
        message = destination_check(Destination(country="CH")).message
    assert message.startswith("Wir liefern nicht")


def test_regions_switch_off_and_follow_their_country() -> None:
    # Given the US with its territories switched off
    delivery_country_set(country="US")
    delivery_regions_set(regions=["US-GU", "US-PR"], is_enabled=False)
    # Then the region list offers states but not those territories
    codes = [code for code, _name in deliverable_regions("US")]
    assert "US-NY" in codes and "US-CA" in codes
    assert "US-GU" not in codes and "US-PR" not in codes
    assert ("US-NY", "New York") in deliverable_regions("US")
    # And an address there is refused on the region field
    guam = destination_check(Destination(country="US", region="US-GU", postal_code="96910"))
    assert (guam.ok, guam.field) == (False, "region")
    assert destination_check(Destination(country="US", region="US-NY", postal_code="10001")).ok


def test_a_region_is_required_where_the_country_requires_one_and_must_belong_to_it() -> None:
    delivery_country_set(country="US")
    assert destination_check(Destination(country="US", postal_code="10001")).field == "region"
    wrong = destination_check(Destination(country="US", region="TR-34", postal_code="10001"))
    assert wrong.field == "region"
    assert deliverable_regions("FR") == []  # not a delivery country


def test_a_switched_off_parent_region_switches_off_its_children() -> None:
    delivery_country_set(country="GB")
    delivery_regions_set(regions=["GB-SCT"], is_enabled=False)
    codes = {code for code, _name in deliverable_regions("GB")}
    assert "GB-SCT" not in codes
    assert "GB-GLG" not in codes  # Glasgow City, part of Scotland
    assert "GB-LND" in codes


def test_cities_and_districts_switch_on_and_off() -> None:
    # Given Istanbul with three districts, one switched off
    delivery_country_set(country="TR")
    delivery_city_upsert(
        country="TR",
        region="TR-34",
        name="İstanbul",
        districts=["Kadıköy", "Beşiktaş"],
        disabled_districts=["Adalar"],
    )
    istanbul = Destination(country="TR", region="TR-34", city="Istanbul", postal_code="34710")
    # Then a district is required, matched without Turkish letters, and must be switched on
    assert destination_check(istanbul).field == "district"
    assert destination_check(Destination(**{**istanbul.__dict__, "district": "kadikoy"})).ok
    off = destination_check(Destination(**{**istanbul.__dict__, "district": "Adalar"}))
    assert (off.ok, off.field) == (False, "district")
    unknown = destination_check(Destination(**{**istanbul.__dict__, "district": "Atlantis"}))
    assert unknown.field == "district"
    assert deliverable_districts("TR", "TR-34", "İSTANBUL") == ["Beşiktaş", "Kadıköy"]
    assert deliverable_districts("TR") == ["Beşiktaş", "Kadıköy"]
    # Cities not listed follow their region
    assert destination_check(
        Destination(country="TR", region="TR-06", city="Ankara", postal_code="06100")
    ).ok
    # When the city is switched off, the city field is the reason
    DeliveryCity.objects.update(is_enabled=False)
    assert destination_check(Destination(**{**istanbul.__dict__, "district": "Kadıköy"})).field == (
        "city"
    )
    assert deliverable_districts("TR", "TR-34") == []


def test_postal_code_required_and_in_the_country_format() -> None:
    delivery_country_set(country="DE")
    assert destination_check(Destination(country="DE")).field == "postal_code"
    bad = destination_check(Destination(country="DE", postal_code="1234"))
    assert bad.field == "postal_code" and "26133" in bad.message


def test_postal_code_rules_mix_include_and_exclude_and_exclusions_win() -> None:
    # Given Germany: deliver to Berlin (10000–14999) and to codes starting 20,
    # but not to 10117 nor anything starting 209
    delivery_country_set(country="DE")
    postal_code_rule_add(
        country="DE", action="include", kind="range", range_start="10000", range_end="14999"
    )
    postal_code_rule_add(country="DE", action="include", kind="prefix", value="20")
    postal_code_rule_add(country="DE", action="exclude", kind="exact", value="10117")
    postal_code_rule_add(country="DE", action="exclude", kind="prefix", value="209")
    # Then
    assert postal_code_allowed(country="DE", postal_code="10115")
    assert postal_code_allowed(country="DE", postal_code="14999")
    assert postal_code_allowed(country="DE", postal_code="20095")
    assert not postal_code_allowed(country="DE", postal_code="10117")  # excluded inside range
    assert not postal_code_allowed(country="DE", postal_code="20999")  # excluded prefix
    assert not postal_code_allowed(country="DE", postal_code="80331")  # not included
    refused = destination_check(Destination(country="DE", postal_code="10117"))
    assert (refused.field, refused.ok) == ("postal_code", False)
    assert "10117" in refused.message


def test_exclude_rules_alone_leave_every_other_code_open() -> None:
    delivery_country_set(country="GB")
    postal_code_rule_add(country="GB", action="exclude", kind="prefix", value="JE")
    assert destination_check(Destination(country="GB", postal_code="SW1A 1AA")).ok
    assert destination_check(Destination(country="GB", postal_code="je2 3ab")).field == (
        "postal_code"
    )


def test_adding_the_same_rule_twice_keeps_one() -> None:
    delivery_country_set(country="DE")
    for _ in range(2):
        postal_code_rule_add(country="DE", action="exclude", kind="exact", value="27498")
    assert PostalCodeRule.objects.count() == 1


@pytest.mark.parametrize(
    "rule",
    [
        {"kind": "range", "range_start": "20000", "range_end": "10000"},
        {"kind": "range", "range_start": "1000", "range_end": "10000"},
        {"kind": "range", "range_start": "10000"},
        {"kind": "exact", "value": ""},
        {"kind": "prefix", "value": "  "},
    ],
)
def test_incomplete_or_backwards_rules_are_refused(rule: dict[str, str]) -> None:
    delivery_country_set(country="DE")
    with pytest.raises(ValidationError):
        postal_code_rule_add(country="DE", action="exclude", **rule)
    assert PostalCodeRule.objects.count() == 0


def test_the_database_refuses_a_backwards_range() -> None:
    delivery_country_set(country="DE")
    with pytest.raises(IntegrityError), transaction.atomic():
        PostalCodeRule.objects.create(
            country_id="DE", kind="range", range_start="20000", range_end="10000"
        )


def test_rules_need_a_delivery_country_and_unknown_places_are_refused() -> None:
    with pytest.raises(ValidationError):
        postal_code_rule_add(country="DE", action="exclude", kind="exact", value="27498")
    with pytest.raises(ValidationError):
        delivery_country_set(country="XX")
    with pytest.raises(ValidationError):
        delivery_regions_set(regions=["US-XX"], is_enabled=False)


@pytest.mark.parametrize("field", ["country", "region", "city", "district", "postal_code"])
def test_nul_characters_are_refused_without_reaching_the_database(field: str) -> None:
    delivery_country_set(country="DE")
    values = {"country": "DE", "postal_code": "10115", field: "10\x00115"}
    check = destination_check(Destination(**values))
    assert (check.ok, check.field) == (False, field)
    assert deliverable_regions("D\x00E") == []
    assert deliverable_districts("TR", "TR-34", "İst\x00anbul") == []
