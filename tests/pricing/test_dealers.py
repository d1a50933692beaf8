"""Dealer applications: a customer applies with a checked VAT or tax number, the
merchant approves (the customer joins the market's dealer group) or rejects with a
reason; a decision is made once and announced after its commit."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from pricing import dealers
from pricing.dealers import (
    DealerApplicationError,
    dealer_application_approve,
    dealer_application_reject,
    dealer_application_submit,
    dealer_price_markets,
)
from shop.models import Customer, CustomerGroup, DealerApplication, Market

pytestmark = pytest.mark.usefixtures("demo_price_lists")

VALID_DE_VAT = "DE 136 695 976"  # check digit correct
WRONG_CHECK_DIGIT = "DE136695977"
VALID_FR_VAT = "FR40303265045"


@pytest.fixture
def customer() -> Customer:
    user = get_user_model().objects.create_user(
        username="erika", email="erika@example.com", first_name="Erika"
    )
    return Customer.objects.create(user=user, preferred_language="de")


@pytest.fixture
def merchant():
    return get_user_model().objects.create_superuser(username="merchant", password="x")


def market(code: str = "eu") -> Market:
    return Market.objects.select_related("dealer_group").get(code=code)


def apply(customer: Customer, *, market_code: str = "eu", **fields: str) -> DealerApplication:
    values = {
        "company_name": "Mustermann Handels GmbH",
        "vat_number": VALID_DE_VAT,
        "tax_number": "",
        "country": "DE",
        "phone": "+49 30 1234567",
        "message": "We run three shops in Berlin.",
        **fields,
    }
    return dealer_application_submit(customer=customer, market=market(market_code), **values)


def test_a_valid_german_vat_number_makes_a_pending_application(customer):
    application = apply(customer)

    assert application.status == DealerApplication.Status.PENDING
    assert application.vat_number == "DE136695976"  # normalised, as at checkout
    assert application.country_id == "DE" and application.market.code == "eu"
    # For the merchant: the format and check digit held; VIES was not asked (off in tests)
    assert application.vat_check_message == "Valid format and check digit (not looked up in VIES)."
    assert customer.group_id is None


def test_a_wrong_check_digit_is_refused_and_nothing_is_saved(customer):
    with pytest.raises(DealerApplicationError) as refused:
        apply(customer, vat_number=WRONG_CHECK_DIGIT)

    assert refused.value.errors == {
        "vat_number": "This VAT number is not valid: its check digit is wrong."
    }
    assert not DealerApplication.objects.exists()


def test_an_eu_company_needs_a_vat_number_and_a_company_name(customer):
    with pytest.raises(DealerApplicationError) as refused:
        apply(customer, company_name="  ", vat_number="", tax_number="12/345/67890")

    assert set(refused.value.errors) == {"company_name", "vat_number"}
    assert refused.value.message == "Please check the marked fields."
    assert not DealerApplication.objects.exists()


def test_a_vat_number_of_another_country_is_refused(customer):
    with pytest.raises(DealerApplicationError) as refused:
        apply(customer, vat_number=VALID_FR_VAT, country="DE")

    assert "France" in refused.value.errors["vat_number"]
    assert not DealerApplication.objects.exists()


def test_outside_the_eu_a_tax_number_is_enough(customer):
    application = apply(
        customer, country="US", vat_number="", tax_number=" 12-3456789 ", market_code="us"
    )

    assert application.status == DealerApplication.Status.PENDING
    assert (application.vat_number, application.tax_number) == ("", "12-3456789")


def test_outside_the_eu_a_vat_or_a_tax_number_is_required(customer):
    with pytest.raises(DealerApplicationError) as refused:
        apply(customer, country="US", vat_number="", tax_number="", market_code="us")

    assert set(refused.value.errors) == {"tax_number"}


def test_a_second_application_waits_for_the_first(customer):
    apply(customer)

    with pytest.raises(DealerApplicationError) as refused:
        apply(customer, company_name="Another GmbH")

    assert "waiting" in refused.value.message
    assert DealerApplication.objects.filter(customer=customer).count() == 1


def test_the_database_allows_one_pending_application_per_customer(customer):
    first = apply(customer)

    with pytest.raises(IntegrityError), transaction.atomic():
        DealerApplication.objects.create(
            customer=customer,
            market=first.market,
            company_name="Twice GmbH",
            vat_number=first.vat_number,
            country_id="DE",
        )


def test_approving_puts_the_customer_in_the_markets_dealer_group(customer, merchant):
    application = apply(customer)

    approved = dealer_application_approve(application=application, by=merchant)

    customer.refresh_from_db()
    dealer = CustomerGroup.objects.get(code="dealer")
    assert customer.group == dealer
    assert customer.company_name == "Mustermann Handels GmbH"
    assert customer.tax_number == "DE136695976"  # the checkout's reverse charge reads it
    application.refresh_from_db()
    assert application.status == DealerApplication.Status.APPROVED == approved.status
    assert application.group == dealer and application.decided_by == merchant
    assert application.decided_at is not None
    assert [m.code for m in dealer_price_markets(customer.group_id)] == ["eu"]


def test_an_approved_tax_number_becomes_the_customers_tax_number(customer, merchant):
    application = apply(
        customer, country="US", vat_number="", tax_number="12-3456789", market_code="us"
    )

    dealer_application_approve(
        application=application, by=merchant, group=CustomerGroup.objects.get(code="dealer")
    )

    customer.refresh_from_db()
    assert customer.tax_number == "12-3456789" and customer.group.code == "dealer"


def test_approving_twice_changes_nothing(customer, merchant):
    application = apply(customer)
    dealer_application_approve(application=application, by=merchant)
    decided_at = DealerApplication.objects.get(pk=application.pk).decided_at

    # A second click on the same (stale) row
    with pytest.raises(DealerApplicationError) as refused:
        dealer_application_approve(application=application, by=merchant)
    with pytest.raises(DealerApplicationError):
        dealer_application_reject(application=application, by=merchant, note="Changed my mind")

    assert "already approved" in refused.value.message
    application.refresh_from_db()
    assert application.status == DealerApplication.Status.APPROVED
    assert application.decided_at == decided_at and application.decision_note == ""


def test_an_approved_dealer_cannot_apply_again(customer, merchant):
    dealer_application_approve(application=apply(customer), by=merchant)

    with pytest.raises(DealerApplicationError) as refused:
        apply(customer, company_name="Second GmbH")

    assert refused.value.message == "You already have a dealer account."


def test_rejecting_records_the_reason_and_allows_a_new_application(customer, merchant):
    application = apply(customer)

    dealer_application_reject(
        application=application, by=merchant, note="  Please send the VAT number of Berlin.  "
    )

    application.refresh_from_db()
    customer.refresh_from_db()
    assert application.status == DealerApplication.Status.REJECTED
    assert application.decision_note == "Please send the VAT number of Berlin."
    assert application.decided_by == merchant and customer.group_id is None
    assert apply(customer).status == DealerApplication.Status.PENDING


def test_rejecting_needs_a_reason(customer, merchant):
    application = apply(customer)

    with pytest.raises(DealerApplicationError) as refused:
        dealer_application_reject(application=application, by=merchant, note="   ")

    assert set(refused.value.errors) == {"note"}
    application.refresh_from_db()
    assert application.status == DealerApplication.Status.PENDING


def test_a_market_without_a_dealer_group_cannot_approve(customer, merchant):
    application = apply(
        customer, country="US", vat_number="", tax_number="12-3456789", market_code="us"
    )

    with pytest.raises(DealerApplicationError) as refused:
        dealer_application_approve(application=application, by=merchant)

    assert refused.value.message == (
        "The market United States has no dealer group. Choose one on the market's page "
        "(field “dealer group”), then approve again."
    )
    application.refresh_from_db()
    customer.refresh_from_db()
    assert application.status == DealerApplication.Status.PENDING and customer.group_id is None


def test_a_decision_is_announced_after_its_commit_only(
    customer, merchant, monkeypatch, django_capture_on_commit_callbacks
):
    told: list[tuple[int, str]] = []
    monkeypatch.setattr(
        dealers, "_DECISION_LISTENERS", [lambda app: told.append((app.pk, app.status))]
    )
    application = apply(customer)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        dealer_application_approve(application=application, by=merchant)
        assert told == []  # not before the commit

    assert len(callbacks) == 1
    assert told == [(application.pk, DealerApplication.Status.APPROVED)]


def test_a_failing_listener_does_not_undo_the_decision(
    customer, merchant, monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(application: DealerApplication) -> None:
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(dealers, "_DECISION_LISTENERS", [broker_down])
    application = apply(customer)

    with django_capture_on_commit_callbacks(execute=True):
        dealer_application_reject(application=application, by=merchant, note="Incomplete")

    application.refresh_from_db()
    assert application.status == DealerApplication.Status.REJECTED
