"""Outgoing webhooks: events written as delivery rows in the transaction that caused
them, sent by Celery after the commit, signed, retried with backoff, logged.

Every request is a POST of a JSON body ``{"id", "type", "created_at", "data"}``
with these headers:

- ``X-Kervan-Event``: the event type (``order.created``…);
- ``X-Kervan-Delivery``: the event's id (the same in every retry and
  redelivery, so a receiver can drop duplicates);
- ``X-Kervan-Signature``: ``t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>"
  with the subscriber's secret>``. Receivers recompute it over the raw body,
  compare in constant time and refuse old timestamps (replays).

A 2xx answer delivers it; any other answer, a timeout or a connection error is
retried with exponential backoff until ``ERP_WEBHOOK_MAX_ATTEMPTS``, after
which the delivery is given up (the admin shows it and can send it again).

Order events come from the orders outbox (``erp_outbox_handler``, registered
in ``ErpConfig.ready``). ``stock.low`` is raised when a variant's free units in a
pool go from above its low-stock threshold (``Variant.low_stock_threshold``) to
at or below it, once per crossing, whatever changed them: every stock write
(admin, imports, the API, other services) notes its products as changed, and
``stock_low_note``, a product-change listener, checks their levels in the
writer's transaction; orders placed, imported, cancelled or refunded are checked from
the outbox (they reserve and release units without noting products).
``StockLowState`` remembers which levels are low.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import requests
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from integrations.erp.models import (
    DeliveryState,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscriber,
)
from orders.models import OutboxEvent

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Kervan-Signature"
EVENT_HEADER = "X-Kervan-Event"
DELIVERY_HEADER = "X-Kervan-Delivery"
SIGNATURE_TOLERANCE_SECONDS = 300
BACKOFF_MAX_SECONDS = 60 * 60
DUE_BATCH = 500

# Outbox kinds → the webhook event they become.
OUTBOX_EVENTS = {
    "order.placed": WebhookEvent.ORDER_CREATED,
    "order.paid": WebhookEvent.ORDER_PAID,
    "order.shipped": WebhookEvent.ORDER_SHIPPED,
    "order.cancelled": WebhookEvent.ORDER_CANCELLED,
    "invoice.issued": WebhookEvent.INVOICE_ISSUED,
}
# Outbox kinds that reserve units or give them back: their variants' levels are checked.
STOCK_MOVING_EVENTS = ("order.placed", "order.imported", "order.cancelled", "order.refunded")


# Signing


def signature(secret: str, timestamp: int, body: str) -> str:
    """The hex HMAC-SHA256 of ``"<timestamp>.<body>"`` with ``secret``."""
    return hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()


def signature_header(secret: str, body: str, *, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def signature_verify(
    secret: str, body: str, header: str, *, tolerance: int = SIGNATURE_TOLERANCE_SECONDS
) -> bool:
    """What a receiver does: the header's ``v1`` matches and its ``t`` is recent."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(parts.get("t", ""))
    except ValueError:
        return False
    if abs(time.time() - timestamp) > tolerance:
        return False
    return hmac.compare_digest(parts.get("v1", ""), signature(secret, timestamp, body))


# Recording events


@dataclass(frozen=True)
class Occurrence:
    """One event to send: ``source`` makes recording it twice a no-op."""

    source: str
    data: dict[str, Any]


def webhook_events_record(*, event: str, occurrences: Sequence[Occurrence]) -> list[int]:
    """Write a delivery per active subscriber of ``event`` for each occurrence, in the
    caller's transaction, and queue their sending after the commit.

    Three queries for any number of occurrences (one when nobody subscribes).
    Occurrences already recorded for a subscriber are skipped. Returns the new
    deliveries' ids.
    """
    if not occurrences:
        return []
    subscriber_ids = list(
        WebhookSubscriber.objects.filter(is_active=True, events__contains=[event])
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not subscriber_ids:
        return []
    sources = [occurrence.source for occurrence in occurrences]
    recorded = set(
        WebhookDelivery.objects.filter(
            subscriber_id__in=subscriber_ids, source__in=sources
        ).values_list("subscriber_id", "source")
    )
    now = timezone.now()
    rows: list[WebhookDelivery] = []
    for occurrence in occurrences:
        event_id = uuid.uuid4()
        payload = {
            "id": str(event_id),
            "type": event,
            "created_at": now.isoformat(),
            "data": occurrence.data,
        }
        rows.extend(
            WebhookDelivery(
                subscriber_id=subscriber_id,
                event=event,
                event_id=event_id,
                source=occurrence.source[:100],
                payload=payload,
                next_attempt_at=now,
            )
            for subscriber_id in subscriber_ids
            if (subscriber_id, occurrence.source) not in recorded
        )
    created = WebhookDelivery.objects.bulk_create(rows)
    ids = [delivery.pk for delivery in created]
    transaction.on_commit(lambda: deliveries_enqueue(ids))
    return ids


def deliveries_enqueue(delivery_ids: Iterable[int], *, countdown: float = 0) -> None:
    """Queue the sending of these deliveries; a broker outage only delays them (the
    periodic ``webhook_deliveries_due`` picks them up)."""
    from integrations.erp.tasks import webhook_send

    for delivery_id in delivery_ids:
        try:
            webhook_send.apply_async(args=(delivery_id,), countdown=countdown)
        except Exception as error:  # the broker is down: the periodic sweep sends it
            logger.warning("Webhook delivery %s not queued: %s", delivery_id, error)


def erp_outbox_handler(event: OutboxEvent) -> None:
    """Outbox handler: the order and invoice events become webhook deliveries, and an
    order placed, imported, cancelled or refunded has its variants' levels checked for
    ``stock.low`` (``stock_low_check``).

    Only writes rows (in the outbox's transaction); sending waits for the commit.
    """
    name = OUTBOX_EVENTS.get(event.kind)
    if name is not None:
        payload = dict(event.payload)
        number = str(payload.pop("number", ""))
        data: dict[str, Any] = {"order": {"id": event.order_id, "number": number}, **payload}
        webhook_events_record(
            event=name, occurrences=[Occurrence(source=f"outbox:{event.pk}", data=data)]
        )
    if event.kind in STOCK_MOVING_EVENTS and event.order_id is not None:
        stock_low_check(
            variants_sql="SELECT variant_id FROM orders_orderline WHERE order_id = %s",
            params=[event.order_id],
        )


def stock_low_note(products_sql: str, params: list[list[int]], source: str) -> None:
    """Product-change listener (``catalog.services.product_change_listener_register``):
    a stock change (source ``stock`` or ``stock-pool:<id>``) has the products'
    levels, in that pool or all, checked for ``stock.low`` in the writer's
    transaction. One query when nobody subscribes; nothing for other changes."""
    kind, _, identifier = source.partition(":")
    if kind == "stock" and not identifier:
        pool_id = None
    elif kind == "stock-pool" and identifier.isdigit():
        pool_id = int(identifier)
    else:
        return
    stock_low_check(
        variants_sql=f"SELECT id FROM catalog_variant WHERE product_id IN ({products_sql})",  # noqa: S608
        params=params,
        pool_id=pool_id,
    )


def stock_low_check(*, variants_sql: str, params: Sequence[Any], pool_id: int | None = None) -> int:
    """Raise ``stock.low`` for the levels of the variants ``variants_sql`` selects (one
    column of ids; in ``pool_id``, or every pool) that are now low and were not.

    A level is low when it does not allow backorder and its free units
    (quantity − reserved) are at or below ``Variant.low_stock_threshold``. One
    statement compares the levels with ``StockLowState``: it marks the levels
    that went low (``INSERT … ON CONFLICT … WHERE NOT is_low``, which locks the
    row, so of two transactions checking one level only one fires) and clears
    those back above the threshold, so that a later drop fires again; then the
    events are recorded for those that went low. One query when nobody
    subscribes to ``stock.low`` (and no state is kept then). Returns how many
    levels went low.
    """
    if not WebhookSubscriber.objects.filter(
        is_active=True, events__contains=[WebhookEvent.STOCK_LOW]
    ).exists():
        return 0
    pool_condition = "" if pool_id is None else "AND l.pool_id = %s"
    pool_params = [] if pool_id is None else [pool_id]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH checked AS (
                SELECT l.variant_id, l.pool_id, v.sku, p.code AS pool,
                       l.quantity - l.reserved AS available, v.low_stock_threshold AS threshold,
                       NOT l.allows_backorder
                           AND l.quantity - l.reserved <= v.low_stock_threshold AS is_low
                FROM pricing_stocklevel l
                JOIN catalog_variant v ON v.id = l.variant_id
                JOIN pricing_stockpool p ON p.id = l.pool_id
                WHERE l.variant_id IN ({variants_sql}) {pool_condition}
            ),
            cleared AS (
                UPDATE erp_stocklowstate state SET is_low = FALSE, changed_at = now()
                FROM checked
                WHERE state.variant_id = checked.variant_id AND state.pool_id = checked.pool_id
                  AND state.is_low AND NOT checked.is_low
            ),
            went_low AS (
                INSERT INTO erp_stocklowstate (variant_id, pool_id, is_low, crossings, changed_at)
                SELECT variant_id, pool_id, TRUE, 1, now() FROM checked WHERE is_low
                ORDER BY variant_id, pool_id
                ON CONFLICT (variant_id, pool_id) DO UPDATE
                    SET is_low = TRUE, crossings = erp_stocklowstate.crossings + 1,
                        changed_at = EXCLUDED.changed_at
                    WHERE NOT erp_stocklowstate.is_low
                RETURNING variant_id, pool_id, crossings
            )
            SELECT checked.variant_id, checked.pool_id, went_low.crossings, checked.sku,
                   checked.pool, checked.available, checked.threshold
            FROM went_low JOIN checked USING (variant_id, pool_id)
            ORDER BY checked.variant_id, checked.pool_id
            """,  # noqa: S608 (fixed SQL fragments; values are parameters)
            [*params, *pool_params],
        )
        rows = cursor.fetchall()
    webhook_events_record(
        event=WebhookEvent.STOCK_LOW,
        occurrences=[
            Occurrence(
                source=f"stock-low:{variant_id}:{level_pool_id}:{crossings}",
                data={
                    "sku": sku,
                    "variant_id": variant_id,
                    "pool": pool,
                    "available": available,
                    "threshold": threshold,
                },
            )
            for variant_id, level_pool_id, crossings, sku, pool, available, threshold in rows
        ],
    )
    return len(rows)


# Sending


def backoff_seconds(attempts: int) -> float:
    """The wait after the ``attempts``-th failure: doubled each time, at most an hour,
    with up to 10% jitter so that many failed deliveries do not return at once."""
    base = settings.ERP_WEBHOOK_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0)
    delay = min(base, BACKOFF_MAX_SECONDS)
    return delay + random.uniform(0, delay / 10)  # noqa: S311 (jitter, not security)


def webhook_deliver(*, delivery_id: int) -> str:
    """Send a pending delivery that is due; record the attempt; schedule the next one
    or give up. Returns the delivery's state (``skipped`` when it was not due, sent
    already, or being sent by another worker).

    The row is leased (not locked) while the request runs, so no transaction stays
    open across the network and two workers never send it at once.
    """
    now = timezone.now()
    timeout = float(settings.ERP_WEBHOOK_TIMEOUT_SECONDS)
    claimed = (
        WebhookDelivery.objects.filter(
            pk=delivery_id, state=DeliveryState.PENDING, next_attempt_at__lte=now
        )
        .filter(Q(leased_until__isnull=True) | Q(leased_until__lt=now))
        .update(leased_until=now + timedelta(seconds=timeout + 30))
    )
    if not claimed:
        return "skipped"
    delivery = WebhookDelivery.objects.select_related("subscriber").get(pk=delivery_id)
    subscriber = delivery.subscriber
    status_code: int | None = None
    error = response_body = ""
    started = time.monotonic()
    if not subscriber.is_active:
        error = "The subscriber is switched off."
    else:
        body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Kervan-Webhooks/1",
            EVENT_HEADER: delivery.event,
            DELIVERY_HEADER: str(delivery.event_id),
            SIGNATURE_HEADER: signature_header(subscriber.secret, body),
        }
        try:
            response = requests.post(
                subscriber.url,
                data=body.encode(),
                headers=headers,
                timeout=timeout,
                allow_redirects=False,
            )
            status_code, response_body = response.status_code, response.text[:1000]
        except requests.RequestException as failure:
            error = f"{type(failure).__name__}: {failure}"[:2000]
    duration_ms = int((time.monotonic() - started) * 1000)
    delivered = status_code is not None and 200 <= status_code < 300
    if not delivered and not error:
        error = f"HTTP {status_code}"
    retry_in: float | None = None
    with transaction.atomic():
        WebhookAttempt.objects.create(
            delivery=delivery,
            status_code=status_code,
            duration_ms=duration_ms,
            error=error,
            response_body=response_body,
        )
        delivery.attempts += 1
        delivery.leased_until = None
        delivery.last_status_code = status_code
        delivery.last_error = "" if delivered else error
        if delivered:
            delivery.state = DeliveryState.DELIVERED
            delivery.delivered_at = timezone.now()
            delivery.next_attempt_at = None
        elif delivery.attempts >= settings.ERP_WEBHOOK_MAX_ATTEMPTS or not subscriber.is_active:
            delivery.state = DeliveryState.FAILED
            delivery.next_attempt_at = None
        else:
            retry_in = backoff_seconds(delivery.attempts)
            delivery.next_attempt_at = timezone.now() + timedelta(seconds=retry_in)
        delivery.save(
            update_fields=[
                "attempts",
                "leased_until",
                "last_status_code",
                "last_error",
                "state",
                "delivered_at",
                "next_attempt_at",
            ]
        )
    if retry_in is not None:
        deliveries_enqueue([delivery.pk], countdown=retry_in)
    logger.info(
        "Webhook %s %s to %s: %s", delivery.event, delivery.pk, subscriber.url, delivery.state
    )
    return delivery.state


def webhook_redeliver(deliveries: QuerySet[WebhookDelivery]) -> int:
    """Send these deliveries again now, whatever became of them (an admin action);
    the attempts count starts again, the log keeps the earlier ones."""
    with transaction.atomic():
        ids = list(deliveries.order_by("pk").values_list("pk", flat=True))
        WebhookDelivery.objects.filter(pk__in=ids).update(
            state=DeliveryState.PENDING,
            attempts=0,
            next_attempt_at=timezone.now(),
            leased_until=None,
            delivered_at=None,
        )
        transaction.on_commit(lambda: deliveries_enqueue(ids))
    return len(ids)


def webhook_deliveries_due(*, limit: int = DUE_BATCH) -> int:
    """Queue the pending deliveries whose time has come (a missed queueing, a broker
    outage). Returns how many were queued."""
    ids = list(
        WebhookDelivery.objects.filter(
            state=DeliveryState.PENDING, next_attempt_at__lte=timezone.now()
        )
        .filter(Q(leased_until__isnull=True) | Q(leased_until__lt=timezone.now()))
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    deliveries_enqueue(ids)
    return len(ids)
