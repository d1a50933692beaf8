"""Card payments with Stripe: the real ``stripe`` client against a local fake Stripe,
and webhooks signed as Stripe signs them."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connections
from django.test import Client
from django.utils import timezone

from orders.models import Order, OrderStatus, StockReservation
from orders.services import orders_expire
from payments.gateways import GatewayError
from payments.models import GatewayEvent, Payment, PaymentStatus, PaymentTransaction
from payments.selectors import payment_methods_for
from payments.services import (
    cart_payment_method_set,
    checkout_complete,
    order_payment_cancel,
    payment_start,
)
from payments.stripe_events import stripe_webhook_receive
from payments.stripe_gateway import stripe_amount
from pricing.models import StockLevel
from tests.payments.fake_stripe import (
    PUBLISHABLE_KEY,
    SECRET_KEY,
    signature_header,
)
from tests.payments.helpers import BERLIN, cart_of, shipped

pytestmark = pytest.mark.usefixtures("checkout_shop")

WEBHOOK = "/payments/stripe/webhook/"


def card_checkout(items: dict[str, int] | None = None):
    cart = shipped(cart_of(items or {"KRV-TEE-M": 2}), BERLIN)
    cart_payment_method_set(cart=cart, code="card")
    return checkout_complete(cart=cart, payment_method_code="card")


def post_event(client: Client, body: str, header: str | None = None):
    return client.post(
        WEBHOOK,
        data=body,
        content_type="application/json",
        headers={"Stripe-Signature": signature_header(body) if header is None else header},
    )


def rotterdam_tee() -> StockLevel:
    return StockLevel.objects.get(variant__sku="KRV-TEE-M", pool__code="rotterdam")


def test_cards_are_offered_only_where_stripe_has_keys(settings):
    cart = shipped(cart_of({"KRV-TEE-M": 1}), BERLIN)
    settings.STRIPE_SECRET_KEY = settings.STRIPE_PUBLISHABLE_KEY = ""
    assert "card" not in [offer.code for offer in payment_methods_for(cart=cart)]

    settings.STRIPE_SECRET_KEY, settings.STRIPE_PUBLISHABLE_KEY = SECRET_KEY, PUBLISHABLE_KEY
    assert next(offer.code for offer in payment_methods_for(cart=cart)) == "card"


def test_a_german_card_checkout_creates_a_payment_intent_in_cents(stripe_fake):
    result = card_checkout()

    order, payment, action = result.order, result.payment, result.next_action
    assert order.total_gross == Decimal("59.80") + order.shipping_gross
    (intent,) = stripe_fake.intents.values()
    assert intent["amount"] == int(order.total_gross * 100) and intent["currency"] == "eur"
    assert intent["metadata"] == {"order": order.number, "payment": str(payment.pk)}
    method, path, _params, headers = stripe_fake.requests[0]
    assert (method, path) == ("POST", "/v1/payment_intents")
    assert headers["idempotency-key"] == f"kervan-payment-{payment.pk}-intent"
    assert action.kind == "card" and action.details["publishable_key"] == PUBLISHABLE_KEY
    assert action.details["client_secret"] == intent["client_secret"]
    payment.refresh_from_db()
    assert payment.provider_id == intent["id"] and payment.status == PaymentStatus.PENDING
    assert order.status == OrderStatus.PENDING_PAYMENT and order.paid_at is None
    assert rotterdam_tee().reserved >= 2


def test_starting_a_payment_again_gives_the_same_intent(stripe_fake):
    result = card_checkout()

    again = payment_start(payment=result.payment)

    assert len(stripe_fake.intents) == 1
    assert again.details["client_secret"] == result.next_action.details["client_secret"]


def test_an_unreachable_stripe_keeps_the_order_for_paying_later(stripe_fake):
    stripe_fake.fail_next = [500]

    result = card_checkout()

    assert result.next_action.kind == "retry"
    assert Order.objects.filter(pk=result.order.pk, status=OrderStatus.PENDING_PAYMENT).exists()
    failed = PaymentTransaction.objects.get(payment=result.payment, kind="start")
    assert failed.is_success is False
    assert payment_start(payment=result.payment).kind == "card"  # Stripe is back


def test_a_signed_success_marks_the_order_paid_exactly_once(stripe_fake, client):
    result = card_checkout()
    before = rotterdam_tee()
    body = stripe_fake.event(
        "payment_intent.succeeded", stripe_fake.succeed(result.payment.provider_id)
    )

    first, second = post_event(client, body), post_event(client, body)

    assert (first.status_code, first.json()["outcome"]) == (200, "paid")
    assert (second.status_code, second.json()["outcome"]) == (200, "duplicate")
    order = Order.objects.get(pk=result.order.pk)
    assert order.status == OrderStatus.PAID and order.paid_at is not None
    assert Payment.objects.get(pk=result.payment.pk).status == PaymentStatus.PAID
    assert PaymentTransaction.objects.filter(payment=result.payment, kind="capture").count() == 1
    assert order.status_changes.filter(to_status=OrderStatus.PAID).count() == 1
    after = rotterdam_tee()
    assert (after.quantity, after.reserved) == (before.quantity - 2, before.reserved - 2)
    assert GatewayEvent.objects.get().outcome == "paid"


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(lambda body: signature_header(body, secret="whsec_forged"), id="forged"),
        pytest.param(
            lambda body: signature_header(body, timestamp=int(time.time()) - 301), id="stale"
        ),
        pytest.param(
            lambda body: signature_header(body, timestamp=int(time.time()) + 3600), id="future"
        ),
        pytest.param(lambda body: "", id="unsigned"),
        pytest.param(lambda body: "t=abc,v1=", id="garbled"),
        pytest.param(
            lambda body: signature_header(body.replace('"succeeded"', '"succeeded" ')),
            id="body-changed",
        ),
    ],
)
def test_a_forged_stale_or_unsigned_event_changes_nothing(stripe_fake, client, header):
    result = card_checkout()
    body = stripe_fake.event(
        "payment_intent.succeeded", stripe_fake.succeed(result.payment.provider_id)
    )

    response = post_event(client, body, header(body))

    assert response.status_code == 400
    assert not GatewayEvent.objects.exists()
    assert Order.objects.get(pk=result.order.pk).paid_at is None


def test_a_signed_body_that_is_not_an_event_is_refused(stripe_fake, client):
    for body in ("not json", json.dumps({"id": "evt_1"}), json.dumps([1, 2])):
        assert post_event(client, body).status_code == 400
    assert client.get(WEBHOOK).status_code == 405
    assert not GatewayEvent.objects.exists()


def test_an_intent_paying_less_is_recorded_not_accepted(stripe_fake, client):
    result = card_checkout()
    intent = stripe_fake.succeed(result.payment.provider_id)
    intent["amount_received"] -= 1

    response = post_event(client, stripe_fake.event("payment_intent.succeeded", intent))

    assert response.status_code == 200 and response.json()["outcome"].startswith("refused")
    assert Order.objects.get(pk=result.order.pk).paid_at is None


def test_an_event_for_an_unknown_intent_is_acknowledged(stripe_fake, client):
    body = stripe_fake.event("payment_intent.succeeded", {"id": "pi_unknown", "object": "x"})

    response = post_event(client, body)

    assert response.status_code == 200 and response.json()["outcome"].startswith("ignored")


def test_a_late_failure_after_success_leaves_the_order_paid(stripe_fake, client):
    result = card_checkout()
    intent_id = result.payment.provider_id
    failed = stripe_fake.fail(intent_id)
    succeeded = stripe_fake.succeed(intent_id)
    earlier = int(time.time()) - 60

    post_event(client, stripe_fake.event("payment_intent.succeeded", succeeded))
    post_event(client, stripe_fake.event("payment_intent.payment_failed", failed, created=earlier))

    order = Order.objects.get(pk=result.order.pk)
    assert order.status == OrderStatus.PAID
    assert Payment.objects.get(pk=result.payment.pk).status == PaymentStatus.PAID


def test_a_declined_card_holds_the_stock_for_a_retry_then_expiry_gives_it_back(stripe_fake, client):
    result = card_checkout()
    intent_id = result.payment.provider_id
    before = rotterdam_tee()

    response = post_event(
        client, stripe_fake.event("payment_intent.payment_failed", stripe_fake.fail(intent_id))
    )

    assert response.json()["outcome"] == "recorded: attempt failed, stock held for another try"
    order = Order.objects.get(pk=result.order.pk)
    assert order.reservation_expires_at <= timezone.now() + timedelta(minutes=15)
    attempt = PaymentTransaction.objects.get(payment=result.payment, kind="fail")
    assert attempt.data["note"] == "Your card was declined."

    expired = orders_expire(now=timezone.now() + timedelta(minutes=16))

    assert expired == [order.number]
    assert stripe_fake.intents[intent_id]["status"] == "canceled"
    assert Order.objects.get(pk=order.pk).status == OrderStatus.CANCELLED
    assert rotterdam_tee().reserved == before.reserved - 2


def test_an_order_paid_just_before_it_expires_is_paid_not_cancelled(stripe_fake):
    result = card_checkout()
    stripe_fake.succeed(result.payment.provider_id)  # its notification is still on the way

    orders_expire(now=timezone.now() + timedelta(days=1))

    order = Order.objects.get(pk=result.order.pk)
    assert order.status == OrderStatus.PAID and order.paid_at is not None
    assert not StockReservation.objects.filter(order_line__order=order, state="open").exists()


def test_a_cancelled_intent_cancels_the_order_and_releases_its_stock(stripe_fake, client):
    result = card_checkout()
    intent_id = result.payment.provider_id
    before = rotterdam_tee()
    stripe_fake.intents[intent_id]["status"] = "canceled"

    response = post_event(
        client, stripe_fake.event("payment_intent.canceled", stripe_fake.intents[intent_id])
    )

    assert response.json()["outcome"] == "cancelled: stock released"
    assert Order.objects.get(pk=result.order.pk).status == OrderStatus.CANCELLED
    assert rotterdam_tee().reserved == before.reserved - 2
    assert Payment.objects.get(pk=result.payment.pk).status == PaymentStatus.CANCELLED


def test_money_arriving_for_a_cancelled_order_is_due_back(stripe_fake, client):
    result = card_checkout()
    order_payment_cancel(order=result.order, by="admin")
    stripe_fake.intents[result.payment.provider_id]["status"] = "requires_payment_method"
    intent = stripe_fake.succeed(result.payment.provider_id)

    response = post_event(client, stripe_fake.event("payment_intent.succeeded", intent))

    assert response.json()["outcome"] == "paid after the order was cancelled: refund due"
    assert Payment.objects.get(pk=result.payment.pk).status == PaymentStatus.REFUND_DUE
    assert Order.objects.get(pk=result.order.pk).status == OrderStatus.CANCELLED


def test_refunds_and_disputes_are_recorded(stripe_fake, client):
    result = card_checkout()
    intent_id = result.payment.provider_id
    post_event(
        client, stripe_fake.event("payment_intent.succeeded", stripe_fake.succeed(intent_id))
    )
    amount = stripe_fake.intents[intent_id]["amount"]
    dispute = {
        "id": "du_1",
        "object": "dispute",
        "amount": 1000,
        "currency": "eur",
        "payment_intent": intent_id,
        "reason": "fraudulent",
        "status": "needs_response",
    }

    partial = post_event(
        client, stripe_fake.event("charge.refunded", stripe_fake.charge(intent_id, refunded=1495))
    )
    disputed = post_event(client, stripe_fake.event("charge.dispute.created", dispute))
    full = post_event(
        client, stripe_fake.event("charge.refunded", stripe_fake.charge(intent_id, refunded=amount))
    )

    assert partial.json()["outcome"] == "recorded: 14.95 EUR refunded"
    assert disputed.json()["outcome"] == "recorded: dispute of 10.00 EUR (fraudulent)"
    assert full.json()["outcome"] == "refunded in full"
    assert Payment.objects.get(pk=result.payment.pk).status == PaymentStatus.REFUNDED
    assert PaymentTransaction.objects.filter(payment=result.payment, kind="dispute").exists()


def test_cancelling_a_paid_card_order_refunds_it_at_stripe(stripe_fake, client):
    result = card_checkout()
    intent_id = result.payment.provider_id
    post_event(
        client, stripe_fake.event("payment_intent.succeeded", stripe_fake.succeed(intent_id))
    )

    order_payment_cancel(order=Order.objects.get(pk=result.order.pk), by="admin")

    (refund,) = stripe_fake.refunds.values()
    assert refund["amount"] == stripe_fake.intents[intent_id]["amount"]
    assert Payment.objects.get(pk=result.payment.pk).status == PaymentStatus.REFUNDED


def test_the_shopper_coming_back_from_paying_sees_the_order_paid(stripe_fake, client):
    from storefront.cart_cookies import order_access_key

    result = card_checkout()
    stripe_fake.succeed(result.payment.provider_id)
    number = result.order.number
    url = f"/de-de/order/{number}/?key={order_access_key(number)}"

    response = client.get(
        f"{url}&payment_intent={result.payment.provider_id}&redirect_status=succeeded"
    )

    assert response.status_code == 200
    assert Order.objects.get(pk=result.order.pk).paid_at is not None


@pytest.mark.parametrize(
    ("amount", "currency", "units"),
    [
        ("59.80", "EUR", 5980),
        ("999.90", "TRY", 99990),
        ("1234", "JPY", 1234),
        ("1.230", "KWD", 1230),
        ("150", "ISK", 15000),
    ],
)
def test_amounts_are_sent_in_the_units_stripe_counts(amount, currency, units):
    assert stripe_amount(Decimal(amount), currency) == units


@pytest.mark.parametrize(("amount", "currency"), [("12.5", "JPY"), ("1.234", "KWD")])
def test_an_amount_stripe_cannot_charge_exactly_is_refused(amount, currency):
    with pytest.raises(GatewayError):
        stripe_amount(Decimal(amount), currency)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_parallel_deliveries_of_one_event_act_once(stripe_fake):
    result = card_checkout()
    body = stripe_fake.event(
        "payment_intent.succeeded", stripe_fake.succeed(result.payment.provider_id)
    )
    header = signature_header(body)
    start = threading.Barrier(4)
    outcomes: list[str] = []

    def deliver() -> None:
        try:
            start.wait()
            outcomes.append(stripe_webhook_receive(body=body.encode(), signature=header))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes) == ["duplicate", "duplicate", "duplicate", "paid"]
    assert PaymentTransaction.objects.filter(payment=result.payment, kind="capture").count() == 1


def test_stripe_keys_saved_in_the_admin_are_never_shown_again(admin_client, settings):
    from payments.models import StripeAccount
    from shop.models import Seller

    settings.STRIPE_SECRET_KEY = settings.STRIPE_PUBLISHABLE_KEY = ""
    seller = Seller.objects.get(markets__code="eu")
    form = {
        "seller": seller.pk,
        "publishable_key": "pk_test_own",
        "secret_key": "sk_test_topsecret",
        "webhook_secret": "whsec_topsecret",
        "is_active": "on",
    }

    mixed = admin_client.post(
        "/admin/payments/stripeaccount/add/", {**form, "publishable_key": "pk_live_own"}
    )
    assert mixed.status_code == 200 and not StripeAccount.objects.exists()
    assert admin_client.post("/admin/payments/stripeaccount/add/", form).status_code == 302

    account = StripeAccount.objects.get()
    page = admin_client.get(f"/admin/payments/stripeaccount/{account.pk}/change/")
    assert page.status_code == 200 and "topsecret" not in page.content.decode()
    # Saving again with the secret fields blank keeps them
    admin_client.post(
        f"/admin/payments/stripeaccount/{account.pk}/change/",
        {**form, "secret_key": "", "webhook_secret": ""},
    )
    account.refresh_from_db()
    assert (account.secret_key, account.webhook_secret) == ("sk_test_topsecret", "whsec_topsecret")
    # The seller's markets offer cards with its own keys now
    cart = shipped(cart_of({"KRV-TEE-M": 1}), BERLIN)
    assert "card" in [offer.code for offer in payment_methods_for(cart=cart)]


def test_support_sees_what_stripe_said_about_an_order(stripe_fake, client, admin_client):
    result = card_checkout()
    intent_id = result.payment.provider_id
    post_event(
        client, stripe_fake.event("payment_intent.payment_failed", stripe_fake.fail(intent_id))
    )

    events = admin_client.get(f"/admin/payments/gatewayevent/?q={result.order.number}")
    order_page = admin_client.get(f"/admin/orders/order/{result.order.pk}/change/")

    assert "payment_intent.payment_failed" in events.content.decode()
    assert "Your card was declined." in order_page.content.decode()


def test_the_order_page_shows_stripes_payment_element(stripe_fake, client):
    from storefront.cart_cookies import order_access_key

    result = card_checkout()
    number = result.order.number

    html = client.get(f"/de-de/order/{number}/?key={order_access_key(number)}").content.decode()

    intent = stripe_fake.intents[result.payment.provider_id]
    assert f'data-client-secret="{intent["client_secret"]}"' in html
    assert f'data-stripe-key="{PUBLISHABLE_KEY}"' in html
    assert '<script src="https://js.stripe.com/v3/"></script>' in html
    assert "Jetzt bezahlen" in html or "Pay now" in html
    assert len(stripe_fake.intents) == 1  # the page reads the intent, never makes another


def test_an_order_whose_intent_cannot_be_cancelled_waits_and_others_still_expire(stripe_fake):
    card = card_checkout()
    cart = shipped(cart_of({"KRV-TEE-M": 1}), BERLIN)
    transfer = checkout_complete(cart=cart, payment_method_code="bank-transfer").order
    Order.objects.filter(pk=transfer.pk).update(reservation_expires_at=timezone.now())
    stripe_fake.fail_next = [500]  # Stripe is down when the card order expires

    expired = orders_expire(now=timezone.now() + timedelta(days=4))

    assert expired == [transfer.number]
    assert Order.objects.get(pk=card.order.pk).status == OrderStatus.PENDING_PAYMENT
    assert orders_expire(now=timezone.now() + timedelta(days=4)) == [card.order.number]
