"""Customer accounts: sign-up with a verified e-mail, sign-in by e-mail, the account's
orders, guest orders claimed by confirming their address, carts merged at sign-in."""

from __future__ import annotations

import re
import smtplib
from decimal import Decimal
from unittest.mock import patch

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend

from orders.cart import cart_create, cart_line_add
from orders.models import Cart, Order
from payments.services import checkout_complete
from shop.models import Customer, Market
from storefront.cart_cookies import CART_COOKIE
from storefront.tasks import account_email_send
from tests.payments.helpers import BERLIN, cart_of, shipped

pytestmark = pytest.mark.usefixtures("checkout_shop")

PASSWORD = "kervan-Karawane-2026"


def sign_up(client, email: str = "erika@example.com", market: str = "de-de"):
    client.get(f"/accounts/signup/?market={market}")
    return client.post(
        "/accounts/signup/", {"email": email, "password1": PASSWORD, "password2": PASSWORD}
    )


def confirmation_link() -> str:
    link = r"https?://testserver(/accounts/confirm-email/[^/\s]+/)"
    found = re.search(link, mail.outbox[-1].body)
    assert found, mail.outbox[-1].body
    return found.group(1)


def guest_order(email: str = "erika@example.com") -> Order:
    cart = shipped(
        cart_of({"KRV-TEE-M": 1}), BERLIN.__class__(**{**BERLIN.__dict__, "email": email})
    )
    return checkout_complete(cart=cart, payment_method_code="bank-transfer").order


def test_account_pages_are_shown_in_the_market_the_shopper_came_from(client):
    page = client.get("/accounts/login/?market=de-de")

    html = page.content.decode()
    assert page.status_code == 200 and page["Content-Language"] == "de"
    assert '<html lang="de">' in html and '<meta name="robots" content="noindex">' in html
    assert 'href="/de-de/cart/"' in html  # the storefront's own header
    # The market is remembered for allauth's own redirects
    assert client.get("/accounts/signup/")["Content-Language"] == "de"


def test_every_storefront_page_links_to_the_account_in_its_market(client):
    html = client.get("/tr-tr/").content.decode()

    assert 'href="/accounts/orders/?market=tr-tr"' in html


def test_sign_up_confirms_the_email_before_the_first_sign_in(client):
    response = sign_up(client)

    assert response.status_code == 302
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["erika@example.com"]
    user = get_user_model().objects.get(email="erika@example.com")
    assert Customer.objects.get(user=user).preferred_language == "de"
    # Not confirmed yet: signing in is refused until the link is followed
    client.logout()
    refused = client.post("/accounts/login/", {"login": "erika@example.com", "password": PASSWORD})
    assert "_auth_user_id" not in client.session
    assert refused.status_code == 302 and "confirm-email" in refused["Location"]

    confirmed = client.post(confirmation_link())

    assert confirmed.status_code == 302 and client.session["_auth_user_id"] == str(user.pk)
    client.logout()
    signed_in = client.post(
        "/accounts/login/", {"login": "erika@example.com", "password": PASSWORD}
    )
    assert signed_in.status_code == 302 and client.session["_auth_user_id"] == str(user.pk)


def test_a_weak_password_is_refused_and_creates_nothing(client):
    client.get("/accounts/signup/?market=de-de")
    response = client.post(
        "/accounts/signup/",
        {"email": "weak@example.com", "password1": "12345678", "password2": "12345678"},
    )

    assert response.status_code == 200
    assert not get_user_model().objects.filter(email="weak@example.com").exists()
    assert not mail.outbox


def test_failed_sign_ins_are_rate_limited_per_account(client):
    sign_up(client)
    client.post(confirmation_link())
    client.post("/accounts/logout/")  # as the shopper does: the market stays remembered

    for _attempt in range(5):
        client.post("/accounts/login/", {"login": "erika@example.com", "password": "wrong"})

    # Then even the right password waits: too many failed attempts for this account
    right = client.post("/accounts/login/", {"login": "erika@example.com", "password": PASSWORD})
    assert right.status_code == 200 and "_auth_user_id" not in client.session
    assert "Zu viele" in right.content.decode()  # "Too many failed login attempts", in German


def test_confirming_the_email_claims_the_guest_orders_placed_with_it(client):
    mine, other = guest_order("erika@example.com"), guest_order("someone@example.com")

    sign_up(client)
    client.post(confirmation_link())
    page = client.get("/accounts/orders/")

    html = page.content.decode()
    assert page.status_code == 200
    assert mine.number in html and other.number not in html
    assert f'href="/accounts/orders/{mine.number}/"' in html
    assert Order.objects.get(pk=other.pk).customer_id is None


def test_the_orders_page_asks_to_sign_in_first(client):
    response = client.get("/accounts/orders/?market=de-de")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/accounts/orders/")


def test_signing_in_merges_the_earlier_cart_into_the_guest_cart(client):
    sign_up(client)
    client.post(confirmation_link())
    customer = Customer.objects.get(user__email="erika@example.com")
    client.logout()
    earlier, _token = cart_create(
        market=Market.objects.get(code="eu"), language="de", customer=customer
    )
    cart_line_add(cart=earlier, sku="KRV-MUG", quantity=1)
    cart_line_add(cart=earlier, sku="KRV-TEE-M", quantity=1)
    guest, token = cart_create(market=Market.objects.get(code="eu"), language="de")
    cart_line_add(cart=guest, sku="KRV-TEE-M", quantity=2)
    client.cookies[CART_COOKIE] = f"{guest.pk}:{token}"

    client.post("/accounts/login/", {"login": "erika@example.com", "password": PASSWORD})

    guest.refresh_from_db()
    assert guest.customer_id == customer.pk
    assert {line.variant.sku: line.quantity for line in guest.lines.select_related("variant")} == {
        "KRV-TEE-M": 3,
        "KRV-MUG": 1,
    }
    assert not Cart.objects.filter(pk=earlier.pk).exists()


def test_a_dealer_signed_in_sees_the_dealer_price_in_the_cart(client):
    from pricing.models import PriceEntry
    from shop.models import CustomerGroup

    # Given a confirmed account the merchant put in the dealer group (admin → customers)
    sign_up(client)
    client.post(confirmation_link())
    customer = Customer.objects.get(user__email="erika@example.com")
    customer.group = CustomerGroup.objects.get(code="dealer")
    customer.save()
    client.post("/accounts/logout/")
    guest, token = cart_create(market=Market.objects.get(code="eu"), language="de")
    cart_line_add(cart=guest, sku="KRV-TEE-M", quantity=1)
    client.cookies[CART_COOKIE] = f"{guest.pk}:{token}"
    retail = client.get("/de-de/cart/").context["lines"][0][0].unit.gross

    # When the dealer signs in
    client.post("/accounts/login/", {"login": "erika@example.com", "password": PASSWORD})

    # Then the cart shows the dealer list's price of KRV-TEE-M
    dealer = PriceEntry.objects.get(price_list__code="eur-dealer", variant__sku="KRV-TEE-M").amount
    shown = client.get("/de-de/cart/").context["lines"][0][0].unit.gross
    assert retail == Decimal("29.90") and shown == dealer < retail


def test_account_e_mails_are_branded_with_an_html_part_in_the_page_language(client):
    sign_up(client)

    (message,) = mail.outbox
    html = {kind: content for content, kind in message.alternatives}["text/html"]
    assert message.subject.startswith("Kervan · ")
    assert "E-Mail" in message.subject  # allauth's own German wording
    assert "testserver" not in message.body.split("\n")[0]  # "Hallo von Kervan!"
    assert "Kervan" in message.body.split("\n")[0]
    assert '<html lang="de">' in html and ">Kervan</td>" in html
    assert '<a href="https://testserver/accounts/confirm-email/' in html


class RefusingMailServer(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise smtplib.SMTPServerDisconnected("mail server down")


def test_a_mail_server_outage_does_not_stop_the_sign_up_and_the_mail_is_sent_later(
    client, settings
):
    settings.EMAIL_BACKEND = f"{__name__}.RefusingMailServer"
    queued = []
    with patch.object(
        account_email_send, "apply_async", side_effect=lambda **kw: queued.append(kw)
    ):
        response = sign_up(client)

    assert response.status_code == 302 and get_user_model().objects.filter(
        email="erika@example.com"
    )
    (call,) = queued
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    account_email_send.apply(args=call["args"]).get()
    (message,) = mail.outbox
    assert message.to == ["erika@example.com"] and "/accounts/confirm-email/" in message.body
