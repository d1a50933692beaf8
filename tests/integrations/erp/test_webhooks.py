"""Outgoing webhooks: signed deliveries from the outbox, retries with backoff,
giving up, redelivery from the admin, stock.low and invoice.issued."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from catalog.models import Variant
from integrations.erp.models import DeliveryState, WebhookDelivery, WebhookSubscriber
from integrations.erp.webhooks import (
    erp_outbox_handler,
    signature_verify,
    webhook_deliver,
)
from invoicing.services import invoice_issue
from orders.models import OutboxEvent
from orders.services import order_mark_paid
from pricing.models import StockLevel
from tests.integrations.erp.receiver import webhook_receiver
from tests.orders.factories import cart_with, order_from

SECRET = "whsec_test"


def _subscriber(url: str, events: list[str]) -> WebhookSubscriber:
    return WebhookSubscriber.objects.create(name="ERP", url=url, events=events, secret=SECRET)


@pytest.fixture
def queued(monkeypatch):
    """Deliveries queued for Celery, recorded instead of sent to the broker."""
    calls: list[tuple[list[int], float]] = []
    monkeypatch.setattr(
        "integrations.erp.webhooks.deliveries_enqueue",
        lambda ids, countdown=0: calls.append((list(ids), countdown)),
    )
    return calls


def _handle_outbox(kind: str) -> None:
    for event in OutboxEvent.objects.filter(kind=kind, processed_at__isnull=True):
        erp_outbox_handler(event)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_placed_order_reaches_the_erp_as_a_signed_webhook(checkout_shop, celery_worker):
    with webhook_receiver() as receiver:
        _subscriber(receiver.url, ["order.created", "order.paid"])
        order = order_from(cart_with({"KRV-TEE-M": 1}))

        with transaction.atomic():  # as the outbox drain runs it; sending follows the commit
            _handle_outbox("order.placed")
        [received] = receiver.wait_for(1)

    assert signature_verify(SECRET, received.body, received.headers["X-Kervan-Signature"])
    assert not signature_verify("other", received.body, received.headers["X-Kervan-Signature"])
    body = json.loads(received.body)
    assert body["type"] == "order.created"
    assert body["data"]["order"] == {"id": order.pk, "number": order.number}
    assert received.headers["X-Kervan-Event"] == "order.created"
    assert received.headers["X-Kervan-Delivery"] == body["id"]
    delivery = WebhookDelivery.objects.get()
    for _ in range(50):  # the worker records the answer just after the receiver saw it
        delivery.refresh_from_db()
        if delivery.state == DeliveryState.DELIVERED:
            break
        time.sleep(0.05)
    assert (delivery.state, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 200)
    assert delivery.log.get().duration_ms >= 0


@pytest.mark.django_db
def test_a_failed_delivery_is_retried_with_backoff_until_it_succeeds(checkout_shop, queued):
    with webhook_receiver(statuses=[500, 200]) as receiver:
        _subscriber(receiver.url, ["order.created"])
        order_from(cart_with({"KRV-TEE-M": 1}))
        _handle_outbox("order.placed")
        delivery = WebhookDelivery.objects.get()

        first = webhook_deliver(delivery_id=delivery.pk)
        too_early = webhook_deliver(delivery_id=delivery.pk)
        delivery.refresh_from_db()
        retry_at = delivery.next_attempt_at
        WebhookDelivery.objects.update(next_attempt_at=timezone.now())
        second = webhook_deliver(delivery_id=delivery.pk)

    assert (first, too_early, second) == ("pending", "skipped", "delivered")
    assert timedelta(seconds=29) < retry_at - timezone.now() <= timedelta(seconds=34)
    assert queued[-1][0] == [delivery.pk] and 30 <= queued[-1][1] <= 33
    assert [attempt.status_code for attempt in delivery.log.all()] == [500, 200]
    first_body, second_body = (json.loads(request.body) for request in receiver.requests)
    assert first_body == second_body  # the same event id each time
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.last_error) == ("delivered", 2, "")


@pytest.mark.django_db
def test_a_delivery_is_given_up_after_the_last_attempt_and_sent_again_from_the_admin(
    checkout_shop, queued, settings, admin_client
):
    settings.ERP_WEBHOOK_MAX_ATTEMPTS = 2
    with webhook_receiver(statuses=[503, 503, 200]) as receiver:
        _subscriber(receiver.url, ["order.created"])
        order_from(cart_with({"KRV-TEE-M": 1}))
        _handle_outbox("order.placed")
        delivery = WebhookDelivery.objects.get()
        webhook_deliver(delivery_id=delivery.pk)
        WebhookDelivery.objects.update(next_attempt_at=timezone.now())
        given_up = webhook_deliver(delivery_id=delivery.pk)

        response = admin_client.post(
            "/admin/erp/webhookdelivery/",
            {"action": "redeliver", "_selected_action": [delivery.pk]},
        )
        delivery.refresh_from_db()
        state_after_action = delivery.state
        again = webhook_deliver(delivery_id=delivery.pk)

    assert given_up == "failed"
    assert response.status_code == 302
    assert state_after_action == "pending"
    assert again == "delivered"
    assert [attempt.status_code for attempt in delivery.log.all()] == [503, 503, 200]


@pytest.mark.django_db
def test_an_unreachable_receiver_is_logged_as_an_error(checkout_shop, queued, settings):
    settings.ERP_WEBHOOK_TIMEOUT_SECONDS = 0.2
    with webhook_receiver(delay=1.0) as receiver:
        _subscriber(receiver.url, ["order.created"])
        order_from(cart_with({"KRV-TEE-M": 1}))
        _handle_outbox("order.placed")
        delivery = WebhookDelivery.objects.get()

        state = webhook_deliver(delivery_id=delivery.pk)

    attempt = delivery.log.get()
    assert state == "pending"
    assert attempt.status_code is None
    assert "Timeout" in attempt.error


@pytest.mark.django_db
def test_an_event_is_recorded_once_per_subscriber(checkout_shop, queued):
    _subscriber("http://127.0.0.1:9/a", ["order.created"])
    _subscriber("http://127.0.0.1:9/b", ["order.created", "order.paid"])
    _subscriber("http://127.0.0.1:9/c", ["order.paid"])
    order_from(cart_with({"KRV-TEE-M": 1}))

    _handle_outbox("order.placed")
    _handle_outbox("order.placed")  # a second drain of the same event

    deliveries = WebhookDelivery.objects.all()
    assert deliveries.count() == 2
    assert len({delivery.event_id for delivery in deliveries}) == 1


@pytest.mark.django_db
def test_stock_written_below_the_threshold_raises_stock_low_once(demo_shop, erp_client, queued):
    _subscriber("http://127.0.0.1:9/", ["stock.low"])
    Variant.objects.filter(sku="KRV-TEE-S").update(low_stock_threshold=5)
    erp = erp_client(["stock:write"])

    def write(quantity: int) -> None:
        rows = [{"sku": "KRV-TEE-S", "pool": "rotterdam", "quantity": quantity}]
        assert erp.post("/stock", {"rows": rows}).status_code == 200

    write(20)
    write(4)  # crosses the threshold (5)
    write(3)  # still low: no new event

    [delivery] = WebhookDelivery.objects.all()
    assert delivery.event == "stock.low"
    assert delivery.payload["data"] == {
        "sku": "KRV-TEE-S",
        "variant_id": delivery.payload["data"]["variant_id"],
        "pool": "rotterdam",
        "available": 4,
        "threshold": 5,
    }


@pytest.mark.django_db
def test_an_order_that_leaves_stock_low_raises_stock_low(checkout_shop, queued):
    _subscriber("http://127.0.0.1:9/", ["stock.low"])
    Variant.objects.filter(sku="KRV-TEE-M").update(low_stock_threshold=5)
    StockLevel.objects.filter(variant__sku="KRV-TEE-M").update(quantity=7)
    order = order_from(cart_with({"KRV-TEE-M": 3}))

    _handle_outbox("order.placed")

    [delivery] = WebhookDelivery.objects.all()
    pool = order.lines.get().ship_from_pool
    assert delivery.payload["data"]["pool"] == pool.code
    assert delivery.payload["data"]["available"] == 4


@pytest.mark.django_db
def test_an_issued_invoice_is_sent_as_invoice_issued(checkout_shop, queued):
    _subscriber("http://127.0.0.1:9/", ["invoice.issued"])
    order = order_from(cart_with({"KRV-TEE-M": 1}))
    order_mark_paid(order=order, by="test")

    invoice = invoice_issue(order=order, by="test")
    _handle_outbox("invoice.issued")

    [delivery] = WebhookDelivery.objects.all()
    assert delivery.payload["type"] == "invoice.issued"
    assert delivery.payload["data"] == {
        "order": {"id": order.pk, "number": order.number},
        "invoice": invoice.pk,
        "invoice_number": invoice.number,
    }
