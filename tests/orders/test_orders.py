"""Orders: frozen at placement, stock reserved then committed or released, a strict
status machine with history, shipments in parts, and an outbox."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog.models import Variant
from orders.errors import NotEnoughStock, OrderError
from orders.models import (
    Cart,
    Order,
    OrderStatus,
    OutboxEvent,
    StockReservation,
)
from orders.quote import cart_quote_at_offer_prices
from orders.selectors import order_for_number, stock_drift
from orders.services import (
    order_cancel,
    order_deliver,
    order_mark_paid,
    order_place,
    order_transition,
    orders_expire,
    outbox_drain,
    reservation_release,
    shipment_create,
    stock_reconcile,
)
from pricing.models import PriceEntry, StockLevel, StockPool
from tests.orders.factories import address_given, cart_with, order_from

pytestmark = pytest.mark.usefixtures("demo_shop")


def level(sku: str = "KRV-TEE-M", pool: str = "rotterdam") -> StockLevel:
    return StockLevel.objects.get(variant__sku=sku, pool__code=pool)


def test_an_order_freezes_the_cart_and_reserves_its_stock():
    before = level()
    cart = cart_with({"KRV-TEE-M": 2})

    order = order_from(cart)

    assert re.fullmatch(r"KRV-\d{4}-\d{6}", order.number)
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert (order.currency, order.total_gross) == ("EUR", Decimal("59.80"))
    assert order.seller.legal_name == "Kervan Europe B.V."
    assert order.exchange_rate == 1
    line = order.lines.get()
    assert (line.sku, line.quantity, line.line_gross) == ("KRV-TEE-M", 2, Decimal("59.80"))
    assert line.ship_from_pool.code == "rotterdam"
    assert (level().quantity, level().reserved) == (before.quantity, before.reserved + 2)
    reservation = StockReservation.objects.get(order_line=line)
    assert (reservation.quantity, reservation.state) == (2, "open")
    assert reservation.expires_at is not None
    assert Cart.objects.get(pk=cart.pk).status == Cart.Status.ORDERED
    assert list(order.status_changes.values_list("from_status", "to_status")) == [
        ("", "pending_payment")
    ]
    assert list(OutboxEvent.objects.filter(order=order).values_list("kind", flat=True)) == [
        "order.placed"
    ]
    assert order_for_number(order.number.lower()) == order


def test_order_numbers_are_unique_and_increase():
    first = order_from(cart_with({"KRV-TEE-M": 1}))
    second = order_from(cart_with({"KRV-TEE-M": 1}))

    assert first.number != second.number
    assert int(second.number[-6:]) > int(first.number[-6:])


def test_a_price_change_never_changes_a_placed_order():
    order = order_from(cart_with({"KRV-TEE-M": 2}))

    PriceEntry.objects.filter(variant__sku="KRV-TEE-M").update(amount=Decimal("99"))
    order.refresh_from_db()

    assert order.total_gross == Decimal("59.80")
    assert order.lines.get().unit_gross == Decimal("29.90")


def test_an_order_cannot_take_more_than_the_pool_holds():
    # Given a quote made while 3 units were free
    StockLevel.objects.filter(pk=level().pk).update(quantity=3, reserved=0)
    cart = address_given(cart_with({"KRV-TEE-M": 3}))
    quote = cart_quote_at_offer_prices(cart=cart)
    # When another order takes 2 of them before this one is placed
    StockLevel.objects.filter(pk=level().pk).update(reserved=2)

    with pytest.raises(NotEnoughStock) as caught:
        order_place(cart=cart, quote=quote, payment_method_code="bank-transfer")

    assert caught.value.code == "not_enough_stock"
    assert caught.value.sku == "KRV-TEE-M"
    assert not Order.objects.exists()
    assert level().reserved == 2
    assert Cart.objects.get(pk=cart.pk).status == Cart.Status.OPEN


def test_payment_commits_the_reservation():
    before = level()
    order = order_from(cart_with({"KRV-TEE-M": 2}))

    assert order_mark_paid(order=order, by="test") is True

    assert (level().quantity, level().reserved) == (before.quantity - 2, before.reserved)
    assert StockReservation.objects.get().state == "committed"
    assert order.status == OrderStatus.PAID
    # Paying twice changes nothing.
    assert order_mark_paid(order=order, by="test") is False
    assert level().quantity == before.quantity - 2


def test_cancelling_an_unpaid_order_releases_its_stock():
    before = level()
    order = order_from(cart_with({"KRV-TEE-M": 2}))

    order_cancel(order=order, by="merchant", note="asked by the customer")

    assert (level().quantity, level().reserved) == (before.quantity, before.reserved)
    assert StockReservation.objects.get().state == "released"
    assert order.status_changes.last().note == "asked by the customer"
    assert OutboxEvent.objects.filter(order=order, kind="order.cancelled").exists()


def test_cancelling_a_paid_order_puts_the_units_back():
    before = level()
    order = order_from(cart_with({"KRV-TEE-M": 2}))
    order_mark_paid(order=order, by="test")

    order_cancel(order=order, by="merchant")

    assert (level().quantity, level().reserved) == (before.quantity, before.reserved)


def test_releasing_twice_is_a_no_op():
    before = level()
    order_from(cart_with({"KRV-TEE-M": 2}))
    reservation = StockReservation.objects.get()

    assert reservation_release(reservation=reservation) is True
    assert reservation_release(reservation=reservation) is False
    assert reservation_release(reservation=StockReservation.objects.get()) is False

    assert level().reserved == before.reserved


def test_expired_unpaid_orders_are_cancelled_and_their_stock_released():
    before = level()
    expiring = order_from(cart_with({"KRV-TEE-M": 2}), minutes=15)
    waiting = order_from(cart_with({"KRV-TEE-M": 1}), minutes=4320)
    paid = order_from(cart_with({"KRV-TEE-M": 1}), minutes=15)
    order_mark_paid(order=paid, by="test")

    expired = orders_expire(now=timezone.now() + timedelta(minutes=16))

    assert expired == [expiring.number]
    expiring.refresh_from_db()
    waiting.refresh_from_db()
    assert (expiring.status, waiting.status) == ("cancelled", "pending_payment")
    assert expiring.status_changes.last().by == "system"
    assert level().reserved == before.reserved + 1  # the waiting order's unit
    assert orders_expire(now=timezone.now() + timedelta(minutes=16)) == []


def test_orders_paid_on_delivery_never_expire():
    order = order_from(cart_with({"KRV-TEE-M": 1}), minutes=0, pays_on_delivery=True)

    assert orders_expire(now=timezone.now() + timedelta(days=365)) == []
    assert order.reservation_expires_at is None


@pytest.mark.parametrize(
    ("path", "illegal"),
    [
        ([], OrderStatus.SHIPPED),
        ([], OrderStatus.DELIVERED),
        ([OrderStatus.PAID], OrderStatus.PENDING_PAYMENT),
        ([OrderStatus.PAID, OrderStatus.SHIPPED], OrderStatus.CANCELLED),
        ([OrderStatus.CANCELLED], OrderStatus.PAID),
        ([OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.DELIVERED], OrderStatus.SHIPPED),
    ],
)
def test_illegal_transitions_are_refused_and_change_nothing(path, illegal):
    order = order_from(cart_with({"KRV-TEE-M": 1}))
    for status in path:
        order_transition(order=order, to=status, by="test")
    history = order.status_changes.count()

    with pytest.raises(OrderError) as caught:
        order_transition(order=order, to=illegal, by="test")

    assert caught.value.code == "illegal_transition"
    assert order.number in caught.value.message
    order.refresh_from_db()
    assert order.status == (path[-1] if path else OrderStatus.PENDING_PAYMENT)
    assert order.status_changes.count() == history


def test_every_transition_is_recorded_with_who_and_when():
    order = order_from(cart_with({"KRV-TEE-M": 1}))
    order_mark_paid(order=order, by="anna")
    line = order.lines.get()
    shipment_create(order=order, lines={line.pk: 1}, method_id=None, tracking_number="", by="ben")
    order_deliver(order=order, by="carrier")

    steps = list(order.status_changes.values_list("from_status", "to_status", "by"))

    assert steps == [
        ("", "pending_payment", "shopper"),
        ("pending_payment", "paid", "anna"),
        ("paid", "shipped", "ben"),
        ("shipped", "delivered", "carrier"),
    ]
    assert all(change.at for change in order.status_changes.all())


def test_an_order_ships_in_parts():
    order = order_from(cart_with({"KRV-TEE-M": 3, "KRV-TEE-L": 1}))
    order_mark_paid(order=order, by="test")
    tee_m, tee_l = order.lines.order_by("sku")[1], order.lines.order_by("sku")[0]
    assert (tee_m.sku, tee_l.sku) == ("KRV-TEE-M", "KRV-TEE-L")

    first = shipment_create(
        order=order,
        lines={tee_m.pk: 2},
        method_id=None,
        tracking_number="T1",
        by="ben",
        carrier="DHL",
    )
    assert order.status == OrderStatus.PARTIALLY_SHIPPED
    assert first.carrier == "DHL"

    with pytest.raises(OrderError) as caught:
        shipment_create(
            order=order, lines={tee_m.pk: 2}, method_id=None, tracking_number="", by="ben"
        )
    assert caught.value.code == "invalid_quantity"

    shipment_create(
        order=order, lines={tee_m.pk: 1, tee_l.pk: 1}, method_id=None, tracking_number="", by="b"
    )
    assert order.status == OrderStatus.SHIPPED
    assert OutboxEvent.objects.filter(order=order, kind="order.shipped").count() == 2


@pytest.mark.parametrize(
    ("lines", "code"),
    [({}, "empty_shipment"), ({999999: 1}, "unknown_line")],
)
def test_bad_shipments_are_refused(lines, code):
    order = order_from(cart_with({"KRV-TEE-M": 1}))
    order_mark_paid(order=order, by="test")

    with pytest.raises(OrderError) as caught:
        shipment_create(order=order, lines=lines, method_id=None, tracking_number="", by="b")

    assert caught.value.code == code
    assert not order.shipments.exists()


def test_an_unpaid_order_does_not_ship_unless_paid_on_delivery():
    prepaid = order_from(cart_with({"KRV-TEE-M": 1}))
    on_delivery = order_from(cart_with({"KRV-TEE-M": 1}), minutes=0, pays_on_delivery=True)

    with pytest.raises(OrderError) as caught:
        shipment_create(
            order=prepaid,
            lines={prepaid.lines.get().pk: 1},
            method_id=None,
            tracking_number="",
            by="b",
        )
    shipment_create(
        order=on_delivery,
        lines={on_delivery.lines.get().pk: 1},
        method_id=None,
        tracking_number="",
        by="b",
    )

    assert caught.value.code == "not_shippable"
    assert on_delivery.status == OrderStatus.SHIPPED
    assert StockReservation.objects.get(order_line__order=on_delivery).state == "committed"


def test_reserved_always_equals_the_open_reservations():
    order_from(cart_with({"KRV-TEE-M": 2}))
    paid = order_from(cart_with({"KRV-TEE-M": 1, "KRV-TEE-L": 2}))
    order_mark_paid(order=paid, by="t")
    cancelled = order_from(cart_with({"KRV-TEE-L": 1}))
    order_cancel(order=cancelled, by="t")

    assert stock_drift() == []


def test_stock_reconcile_detects_and_fixes_drift():
    order_from(cart_with({"KRV-TEE-M": 2}))
    StockLevel.objects.filter(pk=level().pk).update(reserved=7)
    StockLevel.objects.filter(pk=level("KRV-TEE-L").pk).update(reserved=1)

    drifts = stock_drift()
    assert {(d.sku, d.reserved, d.open_reservations) for d in drifts} == {
        ("KRV-TEE-M", 7, 2),
        ("KRV-TEE-L", 1, 0),
    }
    assert stock_reconcile(fix=True) == []

    assert stock_drift() == []
    assert level().reserved == 2


def test_the_outbox_is_drained_once():
    order_from(cart_with({"KRV-TEE-M": 1}))

    assert outbox_drain() == 1
    assert outbox_drain() == 0
    assert OutboxEvent.objects.get().processed_at is not None


def test_placing_and_paying_orders_keeps_the_catalogue_caches(django_capture_on_commit_callbacks):
    from shop import versions

    shared = [versions.CATALOGUE, versions.CATEGORY_TREE, versions.PRICING, versions.MARKETS]
    variant = Variant.objects.get(sku="KRV-TEE-M")
    other = Variant.objects.get(sku="KRV-TEE-L")
    before = versions.versions(shared)
    stock_before = versions.versions([versions.stock(variant.pk), versions.stock(other.pk)])
    cart = cart_with({"KRV-TEE-M": 1})

    with django_capture_on_commit_callbacks(execute=True):
        order = order_from(cart)
    with django_capture_on_commit_callbacks(execute=True):
        order_mark_paid(order=order, by="t")

    assert versions.versions(shared) == before
    after = versions.versions([versions.stock(variant.pk), versions.stock(other.pk)])
    assert after[versions.stock(variant.pk)] > stock_before[versions.stock(variant.pk)]
    assert after[versions.stock(other.pk)] == stock_before[versions.stock(other.pk)]


def test_the_pools_are_the_market_pools():
    order = order_from(cart_with({"KRV-TEE-M": 1}, market="tr", language="tr"))

    assert order.currency == "TRY"
    assert order.lines.get().ship_from_pool == StockPool.objects.get(code="istanbul")
    assert order.seller.legal_name.startswith("Kervan Ticaret")
