"""The dealer page of the account: a customer applies, sees the application wait, and
once the merchant approves it in the admin, sees dealer prices in the cart; the
decision is e-mailed in the customer's language through Celery."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client

from orders.cart import cart_create, cart_line_add
from pricing.dealers import dealer_application_submit
from pricing.models import PriceEntry
from shop.models import Customer, DealerApplication, Market
from storefront.cart_cookies import CART_COOKIE
from storefront.dealer_emails import dealer_decision_email_deliver
from storefront.tasks import dealer_decision_email_send

pytestmark = pytest.mark.usefixtures("checkout_shop")

APPLICATIONS = "/admin/shop/dealerapplication/"
FORM = {
    "company_name": "Mustermann Handels GmbH",
    "country": "DE",
    "vat_number": "DE136695976",
    "tax_number": "",
    "phone": "+49 30 1234567",
    "message": "Three shops in Berlin.",
}


@pytest.fixture
def customer() -> Customer:
    user = get_user_model().objects.create_user(
        username="erika", email="erika@example.com", first_name="Erika", password="x"
    )
    return Customer.objects.create(user=user, preferred_language="de")


@pytest.fixture
def shopper(customer: Customer) -> Client:
    """Erika, signed in, who came to her account from the German shop."""
    client = Client()
    client.force_login(customer.user)
    assert client.get("/accounts/dealer/?market=de-de").status_code == 200
    return client


@pytest.fixture
def merchant() -> Client:
    client = Client()
    client.force_login(get_user_model().objects.create_superuser(username="merchant"))
    return client


def applied(customer: Customer) -> DealerApplication:
    return dealer_application_submit(
        customer=customer, market=Market.objects.get(code="eu"), **FORM
    )


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_the_dealer_page_asks_to_sign_in_first(client):
    response = client.get("/accounts/dealer/?market=de-de")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/accounts/dealer/")


def test_the_dealer_page_is_private_and_never_cached(shopper):
    page = shopper.get("/accounts/dealer/")

    html = page.content.decode()
    assert '<meta name="robots" content="noindex">' in html and '<html lang="de">' in html
    assert "no-store" in page["Cache-Control"] and "private" in page["Cache-Control"]
    # The form: labelled fields, the country list named in the page's language
    assert '<label for="id_vat_number">' in html and '<option value="DE" selected>' in html
    assert ">Deutschland</option>" in html


def test_a_submitted_application_is_shown_as_under_review(shopper, customer):
    response = shopper.post("/accounts/dealer/", FORM)

    assert response.status_code == 302 and response["Location"] == "/accounts/dealer/"
    application = DealerApplication.objects.get(customer=customer)
    assert application.status == DealerApplication.Status.PENDING
    assert application.market.code == "eu" and application.vat_number == "DE136695976"
    page = shopper.get("/accounts/dealer/")
    html = page.content.decode()
    assert "Wir prüfen Ihren Antrag" in html and "Mustermann Handels GmbH" in html
    assert 'name="vat_number"' not in html  # no second application while one waits


def test_a_wrong_vat_number_is_explained_next_to_its_field(shopper):
    response = shopper.post("/accounts/dealer/", {**FORM, "vat_number": "DE136695977"})

    html = response.content.decode()
    assert response.status_code == 200 and not DealerApplication.objects.exists()
    # In the page's language (German), at the top and next to the field
    assert '<p class="problem" role="alert">Bitte prüfen Sie die markierten Felder.</p>' in html
    assert 'aria-invalid="true" aria-describedby="id_vat_number_error id_vat_number_help"' in html
    assert (
        '<p class="error" id="id_vat_number_error">'
        "Diese USt-IdNr. ist ungültig: Die Prüfziffer stimmt nicht.</p>"
    ) in html
    assert 'value="Mustermann Handels GmbH"' in html  # what was typed stays


def test_after_the_merchant_approves_the_dealer_sees_dealer_prices_in_the_cart(
    shopper, customer, merchant
):
    # Given Erika applied, and her cart holds a T-shirt at the retail price
    shopper.post("/accounts/dealer/", FORM)
    application = DealerApplication.objects.get(customer=customer)
    cart, token = cart_create(
        market=Market.objects.get(code="eu"), language="de", customer=customer
    )
    cart_line_add(cart=cart, sku="KRV-TEE-M", quantity=1)
    shopper.cookies[CART_COOKIE] = f"{cart.pk}:{token}"
    retail = shopper.get("/de-de/cart/").context["lines"][0][0].unit.gross

    # When the merchant approves the application with the admin action
    response = merchant.post(
        APPLICATIONS,
        {"action": "approve", "_selected_action": [application.pk], "index": 0},
        follow=True,
    )

    # Then she is a dealer of the European market and the cart shows the dealer price
    assert messages_of(response) == ["1 application approved; the customer is e-mailed."]
    customer.refresh_from_db()
    assert customer.group.code == "dealer" and customer.tax_number == "DE136695976"
    dealer = PriceEntry.objects.get(price_list__code="eur-dealer", variant__sku="KRV-TEE-M").amount
    shown = shopper.get("/de-de/cart/").context["lines"][0][0].unit.gross
    assert retail == Decimal("29.90") and shown == dealer < retail
    html = shopper.get("/accounts/dealer/").content.decode()
    assert "Sie sind Händler: Sie sehen Händlerpreise in Europe" in html


def test_the_merchant_sees_the_vat_check_and_the_group_it_leads_to(customer, merchant):
    application = applied(customer)

    listed = merchant.get(f"{APPLICATIONS}?status__exact=pending&q=Mustermann").content.decode()
    opened = merchant.get(f"{APPLICATIONS}{application.pk}/change/").content.decode()

    for html in (listed, opened):
        assert "Mustermann Handels GmbH" in html and "DE136695976" in html
        assert "Valid format and check digit (not looked up in VIES)." in html
        assert "Dealer (B2B), when approved" in html
    assert "erika@example.com" in opened and "Three shops in Berlin." in opened
    # The market's page says which group its approved dealers join
    market_page = merchant.get(f"/admin/shop/market/{application.market_id}/change/")
    assert 'name="dealer_group"' in market_page.content.decode()


def test_rejecting_asks_the_merchant_for_the_reason_the_customer_reads(shopper, customer, merchant):
    application = applied(customer)
    selected = {"action": "reject", "_selected_action": [application.pk]}

    asked = merchant.post(APPLICATIONS, {**selected, "index": 0})
    assert asked.status_code == 200 and 'name="note"' in asked.content.decode()
    without_reason = merchant.post(APPLICATIONS, {**selected, "confirmed": "1", "note": ""})
    assert without_reason.status_code == 200
    assert DealerApplication.objects.get().status == DealerApplication.Status.PENDING

    done = merchant.post(
        APPLICATIONS,
        {**selected, "confirmed": "1", "note": "Please use the VAT number of your Berlin shop."},
        follow=True,
    )

    assert messages_of(done) == ["1 application rejected; the customer is e-mailed the reason."]
    html = shopper.get("/accounts/dealer/").content.decode()
    assert "Please use the VAT number of your Berlin shop." in html
    assert "Erneut beantragen" in html and 'value="DE136695976"' in html


def test_approving_in_a_market_without_a_dealer_group_tells_the_merchant_why(customer, merchant):
    Market.objects.filter(code="eu").update(dealer_group=None)
    application = applied(customer)

    response = merchant.post(
        APPLICATIONS,
        {"action": "approve", "_selected_action": [application.pk], "index": 0},
        follow=True,
    )

    assert messages_of(response) == [
        "Mustermann Handels GmbH: The market Europe has no dealer group. Choose one on the "
        "market's page (field “dealer group”), then approve again."
    ]
    assert DealerApplication.objects.get().status == DealerApplication.Status.PENDING


def test_the_decision_mail_is_in_the_customers_language_and_sent_once(customer):
    from pricing.dealers import dealer_application_approve

    application = dealer_application_approve(application=applied(customer), by=None)

    assert dealer_decision_email_deliver(application.pk) == "sent"
    assert dealer_decision_email_deliver(application.pk) == "already sent"  # a retried task

    (message,) = mail.outbox
    (html, mimetype), *_ = message.alternatives
    assert message.to == ["erika@example.com"] and mimetype == "text/html"
    assert message.reply_to == [application.market.seller.email]
    assert 'lang="de"' in html
    for body in (message.body, html):
        assert "Hallo Erika," in body and "Mustermann Handels GmbH" in body and "Europe" in body
        assert "/accounts/dealer/?market=de-de" in body


def test_the_retry_policy_of_the_task_covers_mail_server_errors():
    import smtplib

    assert smtplib.SMTPException in dealer_decision_email_send.autoretry_for
    assert dealer_decision_email_send.max_retries >= 10 and dealer_decision_email_send.acks_late


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_admin_decision_reaches_the_customer_through_a_real_worker(
    celery_worker, customer, merchant
):
    application = applied(customer)

    merchant.post(
        APPLICATIONS,
        {
            "action": "reject",
            "_selected_action": [application.pk],
            "confirmed": "1",
            "note": "Bitte senden Sie die USt-IdNr. Ihres Berliner Geschäfts.",
        },
    )

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        application.refresh_from_db()
        if application.decision_emailed_at is not None:
            break
        time.sleep(0.2)
    assert application.status == DealerApplication.Status.REJECTED
    assert application.decision_emailed_at is not None
    (message,) = [m for m in mail.outbox if m.to == ["erika@example.com"]]
    assert "Hallo Erika," in message.body
    assert "Bitte senden Sie die USt-IdNr. Ihres Berliner Geschäfts." in message.body
