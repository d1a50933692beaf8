"""The database, not only the forms, guards the market rules."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from shop.models import Market, MarketCountry
from shop.services import market_upsert


def make_market(code: str, countries: list[str], *, is_active: bool = True, **extra) -> Market:
    fields = {"name": code.upper(), "currency": "EUR", "default_language": "en", **extra}
    market = Market.objects.create(
        code=code, default_country_id=countries[0], is_active=is_active, **fields
    )
    for country in countries:
        MarketCountry(market=market, country_id=country).save()
    return market


@pytest.mark.django_db
def test_a_country_cannot_be_in_two_active_markets():
    make_market("dach", ["DE", "AT"])
    other = make_market("central", ["CZ"])

    with pytest.raises(IntegrityError), transaction.atomic():
        MarketCountry(market=other, country_id="AT").save()


@pytest.mark.django_db
def test_the_rule_holds_for_raw_inserts_that_skip_model_code():
    make_market("dach", ["DE"])
    other = make_market("benelux", ["NL"])

    # Claiming the copy of the activity flag is false is refused by the composite key.
    with pytest.raises(IntegrityError), transaction.atomic():
        MarketCountry.objects.bulk_create(
            [MarketCountry(market=other, country_id="DE", is_market_active=False)]
        )


@pytest.mark.django_db
def test_an_inactive_market_may_prepare_a_country_that_an_active_market_serves():
    make_market("dach", ["DE"])
    draft = make_market("germany-new", ["DE"], is_active=False)

    assert MarketCountry.objects.filter(country_id="DE").count() == 2
    assert not MarketCountry.objects.get(market=draft).is_market_active


@pytest.mark.django_db
def test_activating_a_market_whose_country_is_taken_is_refused():
    make_market("dach", ["DE"])
    draft = make_market("germany-new", ["DE"], is_active=False)

    draft.is_active = True
    with pytest.raises(IntegrityError), transaction.atomic():
        draft.save()


@pytest.mark.django_db
def test_deactivating_a_market_frees_its_countries():
    old = make_market("dach", ["DE"])
    old.is_active = False
    old.save()

    make_market("germany-new", ["DE"])

    assert MarketCountry.objects.get(market=old).is_market_active is False


@pytest.mark.django_db
def test_there_is_one_default_market():
    make_market("one", ["DE"], is_default=True)

    with pytest.raises(IntegrityError), transaction.atomic():
        make_market("two", ["FR"], is_default=True)


@pytest.mark.django_db
def test_the_default_market_is_active():
    with pytest.raises(IntegrityError), transaction.atomic():
        make_market("one", ["DE"], is_default=True, is_active=False)


@pytest.mark.django_db
def test_currency_must_look_like_iso_4217():
    with pytest.raises(IntegrityError), transaction.atomic():
        make_market("one", ["DE"], currency="eur")


@pytest.mark.django_db
def test_market_upsert_is_idempotent_and_moves_the_default(demo_markets):
    market_upsert(
        code="gb",
        name="United Kingdom",
        currency="GBP",
        default_language="en",
        default_country="GB",
        countries=["GB"],
        prices_include_tax=True,
        is_default=True,
    )

    assert Market.objects.count() == 4
    assert list(Market.objects.filter(is_default=True).values_list("code", flat=True)) == ["gb"]
    assert MarketCountry.objects.filter(market__code="gb").count() == 1
