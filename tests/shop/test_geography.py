"""Countries, regions and per-country address rules."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from shop.models import Address, Country, Customer, Region

pytestmark = pytest.mark.django_db


def test_every_iso_country_is_loaded():
    assert Country.objects.count() == 249
    assert Country.objects.get(code="TR").name == "Türkiye"


@pytest.mark.parametrize(
    ("country", "minimum"), [("US", 50), ("TR", 81), ("DE", 16), ("GB", 4), ("CA", 13)]
)
def test_regions_are_loaded_for_the_main_markets(country, minimum):
    assert Region.objects.filter(country_id=country).count() >= minimum


def test_us_states_are_offered_and_required():
    united_states = Country.objects.get(code="US")

    assert united_states.uses_regions and united_states.requires_region
    assert Region.objects.get(code="US-CA").name == "California"


def test_gb_regions_nest_under_the_nations():
    assert Region.objects.get(code="GB-LND").parent.code == "GB-ENG"


@pytest.mark.parametrize(
    ("country", "postal_code", "valid"),
    [
        ("DE", "10115", True),
        ("DE", "1011", False),
        ("TR", "34000", True),
        ("US", "94105-1234", True),
        ("US", "ABCDE", False),
        ("GB", "sw1a 1aa", True),
        ("GB", "12345", False),
        ("CA", "K1A 0B1", True),
        ("IE", "D02 X285", True),
    ],
)
def test_postal_code_formats(country, postal_code, valid):
    assert Country.objects.get(code=country).is_valid_postal_code(postal_code) is valid


def test_postal_code_requirement_follows_the_address_data():
    assert Country.objects.get(code="DE").requires_postal_code is True
    assert Country.objects.get(code="HK").requires_postal_code is False


@pytest.fixture
def customer():
    user = get_user_model().objects.create_user("ayse", "ayse@example.com", "pw")
    return Customer.objects.create(user=user)


def address(customer, **fields):
    values = {
        "customer": customer,
        "first_name": "Ayşe",
        "last_name": "Yılmaz",
        "line1": "Main Street 1",
        "city": "Berlin",
        "country_id": "DE",
        "postal_code": "10115",
        **fields,
    }
    return Address(**values)


def test_a_valid_address_passes(customer):
    entry = address(customer, postal_code=" 10115 ")

    entry.full_clean()

    assert entry.postal_code == "10115"


def test_a_missing_required_postal_code_is_explained(customer):
    with pytest.raises(ValidationError) as error:
        address(customer, postal_code="").full_clean()

    assert error.value.message_dict["postal_code"] == ["A postal code is required for Germany."]


def test_a_malformed_postal_code_shows_an_example(customer):
    with pytest.raises(ValidationError) as error:
        address(customer, postal_code="ABC").full_clean()

    assert "example: 26133" in error.value.message_dict["postal_code"][0]


def test_a_region_is_required_where_the_country_needs_one(customer):
    with pytest.raises(ValidationError) as error:
        address(customer, country_id="US", postal_code="94105").full_clean()

    assert error.value.message_dict["region"] == ["Choose a region for United States."]


def test_a_region_of_another_country_is_refused(customer):
    bavaria = Region.objects.get(code="DE-BY")

    with pytest.raises(ValidationError) as error:
        address(customer, country_id="US", postal_code="94105", region=bavaria).full_clean()

    assert error.value.message_dict["region"] == ["This region is not in United States."]


def test_switching_the_us_state_system_off_makes_the_region_optional(customer):
    Country.objects.filter(code="US").update(uses_regions=False, requires_region=False)

    address(customer, country_id="US", postal_code="94105").full_clean()


def test_a_country_cannot_require_a_region_it_does_not_offer():
    germany = Country.objects.get(code="DE")
    germany.requires_region = True

    with pytest.raises(ValidationError):
        germany.full_clean()
