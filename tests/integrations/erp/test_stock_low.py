"""stock.low: raised once per crossing of a variant's low-stock threshold in a pool,
whatever changed the stock (admin, services, the API, orders), and cleared when
the stock goes back above it so the next drop raises it again."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test import Client

from catalog.models import Variant
from integrations.erp.models import StockLowState, WebhookDelivery, WebhookSubscriber
from integrations.erp.webhooks import erp_outbox_handler, stock_low_check, stock_low_note
from orders.models import OutboxEvent
from orders.services import order_cancel
from pricing.models import PriceList, StockLevel
from pricing.services import price_set, stock_set
from tests.orders.factories import cart_with, order_from

THRESHOLD = 5


@pytest.fixture
def queued(monkeypatch):
    """Deliveries queued for Celery, recorded instead of sent to the broker."""
    calls: list[list[int]] = []
    monkeypatch.setattr(
        "integrations.erp.webhooks.deliveries_enqueue",
        lambda ids, countdown=0: calls.append(list(ids)),
    )
    return calls


def _subscribe(events: list[str] | None = None) -> WebhookSubscriber:
    return WebhookSubscriber.objects.create(
        name="ERP", url="http://127.0.0.1:9/", events=events or ["stock.low"], secret="whsec"
    )


def _level(sku: str, pool: str = "rotterdam") -> StockLevel:
    Variant.objects.filter(sku=sku).update(low_stock_threshold=THRESHOLD)
    return StockLevel.objects.select_related("variant", "pool").get(
        variant__sku=sku, pool__code=pool
    )


def _admin_sets(client: Client, level: StockLevel, free: int) -> None:
    """Staff type a quantity leaving ``free`` units on the stock level's admin page."""
    response = client.post(
        f"/admin/pricing/stocklevel/{level.pk}/change/",
        {"quantity": level.reserved + free, "_save": "Save"},
    )
    assert response.status_code == 302


def _handle_outbox(kind: str) -> None:
    for event in OutboxEvent.objects.filter(kind=kind, processed_at__isnull=True):
        erp_outbox_handler(event)
        event.processed_at = event.created_at
        event.save(update_fields=["processed_at"])


@pytest.mark.django_db
def test_stock_edited_in_the_admin_raises_stock_low_once_per_crossing(
    demo_shop, admin_client, queued, django_capture_on_commit_callbacks
):
    # Given a subscriber and KRV-TEE-S well above its threshold of 5 in Rotterdam
    _subscribe()
    level = _level("KRV-TEE-S")

    # when staff take it to the threshold
    with django_capture_on_commit_callbacks(execute=True):
        _admin_sets(admin_client, level, THRESHOLD)
    # then one stock.low is recorded, with the level as it is now, and queued on commit
    [delivery] = WebhookDelivery.objects.all()
    assert delivery.event == "stock.low"
    assert delivery.payload["data"] == {
        "sku": "KRV-TEE-S",
        "variant_id": level.variant_id,
        "pool": "rotterdam",
        "available": THRESHOLD,
        "threshold": THRESHOLD,
    }
    assert queued == [[delivery.pk]]

    # when it drops further, it is still low: nothing new
    _admin_sets(admin_client, level, 2)
    assert WebhookDelivery.objects.count() == 1

    # when it goes back above the threshold, the level is no longer low
    _admin_sets(admin_client, level, THRESHOLD + 1)
    assert WebhookDelivery.objects.count() == 1
    assert not StockLowState.objects.get(variant=level.variant, pool=level.pool).is_low

    # and a new drop raises it again, as another event
    _admin_sets(admin_client, level, 1)
    first, second = WebhookDelivery.objects.order_by("pk")
    assert second.payload["data"]["available"] == 1
    assert second.event_id != first.event_id
    state = StockLowState.objects.get(variant=level.variant, pool=level.pool)
    assert (state.is_low, state.crossings) == (True, 2)


@pytest.mark.django_db
def test_only_the_pool_that_went_low_raises_it(demo_shop, queued):
    _subscribe()
    level = _level("KRV-TEE-M", pool="istanbul")

    stock_set(variant=level.variant, pool_id=level.pool_id, quantity=level.reserved + 3)

    [delivery] = WebhookDelivery.objects.all()
    assert delivery.payload["data"]["pool"] == "istanbul"
    assert list(StockLowState.objects.values_list("pool__code", "is_low")) == [("istanbul", True)]


@pytest.mark.django_db
def test_an_order_taking_stock_low_raises_it_and_its_cancellation_clears_it(checkout_shop, queued):
    # Given KRV-TEE-M with 7 units in every pool and a threshold of 5
    _subscribe()
    Variant.objects.filter(sku="KRV-TEE-M").update(low_stock_threshold=THRESHOLD)
    StockLevel.objects.filter(variant__sku="KRV-TEE-M").update(quantity=7)

    # when an order reserves 3 of them, then the outbox runs
    order = order_from(cart_with({"KRV-TEE-M": 3}))
    _handle_outbox("order.placed")
    # then one stock.low for the pool it reserved from
    [delivery] = WebhookDelivery.objects.all()
    assert delivery.payload["data"]["pool"] == order.lines.get().ship_from_pool.code
    assert delivery.payload["data"]["available"] == 4

    # when it is cancelled, the units come back and the level is no longer low
    order_cancel(order=order, by="test")
    _handle_outbox("order.cancelled")
    assert not StockLowState.objects.filter(is_low=True).exists()

    # so the next order taking it low raises it again
    order_from(cart_with({"KRV-TEE-M": 3}))
    _handle_outbox("order.placed")
    assert WebhookDelivery.objects.count() == 2


@pytest.mark.django_db
def test_nobody_subscribed_costs_one_query_and_keeps_no_state(
    demo_shop, admin_client, django_assert_num_queries
):
    # Given subscribers, none of them wanting stock.low
    _subscribe(["order.created"])
    level = _level("KRV-TEE-S")

    _admin_sets(admin_client, level, 0)
    # one query: is anybody subscribed to stock.low?
    with django_assert_num_queries(1):
        stock_low_note(
            "SELECT DISTINCT unnest(%s::bigint[])", [[level.variant.product_id]], "stock"
        )

    assert not StockLowState.objects.exists()
    assert not WebhookDelivery.objects.exists()


@pytest.mark.django_db
def test_a_price_change_checks_no_stock(demo_shop, django_assert_num_queries):
    _subscribe()
    level = _level("KRV-TEE-S")
    # none: only stock sources are checked
    with django_assert_num_queries(0):
        stock_low_note(
            "SELECT DISTINCT unnest(%s::bigint[])", [[level.variant.product_id]], "price-list:1"
        )
    price_set(
        price_list=PriceList.objects.get(code="eur-retail"),
        variant_id=level.variant_id,
        amount=Decimal("1.00"),
    )
    assert not StockLowState.objects.exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_transactions_checking_one_level_raise_it_once(demo_shop, queued):
    # Given a level at its threshold that no check has seen yet
    _subscribe()
    level = _level("KRV-TEE-L")
    StockLevel.objects.filter(pk=level.pk).update(quantity=level.reserved + THRESHOLD)
    first_checked, first_may_commit = threading.Event(), threading.Event()
    raised: dict[str, int] = {}

    def check(name: str, *, hold: bool) -> None:
        try:
            with transaction.atomic():
                raised[name] = stock_low_check(
                    variants_sql="SELECT %s::bigint", params=[level.variant_id]
                )
                if hold:
                    first_checked.set()
                    first_may_commit.wait(10)
        finally:
            connection.close()

    first = threading.Thread(target=check, args=("first",), kwargs={"hold": True})
    second = threading.Thread(target=check, args=("second",), kwargs={"hold": False})
    # when both check it, the second while the first has not committed yet
    first.start()
    assert first_checked.wait(10)
    second.start()
    second.join(0.5)  # it waits for the first's row
    first_may_commit.set()
    first.join(10)
    second.join(10)

    # then only one of them raised it
    assert raised == {"first": 1, "second": 0}
    assert WebhookDelivery.objects.count() == 1
