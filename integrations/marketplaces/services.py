"""Marketplace sync: the outbox of price and stock changes, the relay that sends them,
and the import of marketplace orders.

How a change travels, and why none is lost or applied twice:

1. Every price or stock write notes its products with
   ``catalog.services.products_changed`` (and friends); ``sync_events_note``,
   registered at ``ready()``, adds one ``SyncEvent`` per (active
   marketplace listing the product, product) in the same transaction —
   one INSERT … SELECT. A rolled-back change leaves no event.
2. ``marketplace_relay`` (beat, every minute) holds the marketplace's
   advisory lock, so one relay at a time works on a marketplace. It locks
   pending events (``FOR UPDATE SKIP LOCKED``), computes what the affected
   listings should show (``selectors.listing_targets``, through
   ``pricing.offers.offers_for``), keeps only the items that differ from
   what was last sent, and in ONE transaction records them as
   ``SyncBatch`` rows (state ``sending``, ≤ the marketplace's item limit),
   marks them sent on the listings and deletes the events.
3. Only then the batches are sent, oldest first, through the token bucket
   of the account. The answer's batch id is stored (``sent``); a crash
   between the call and that write leaves the batch ``sending``, and the
   next run sends it again — prices and stock are absolute values, so a
   second delivery changes nothing. A 429 or an outage leaves it
   ``waiting`` with the time of the next attempt; later batches wait
   behind it, so the marketplace never gets an older value last.
4. Sent batches are polled; every refused item becomes a
   ``SyncRejection`` with the marketplace's reason, and its listing's
   "last sent" values are cleared so the next change sends it again.

Products are created (or updated) on the marketplace the same way:
``listings_publish`` builds their data (``selectors.listing_drafts``),
records what cannot be sent as rejections with the reason, records the
rest as ``SyncBatch`` rows of kind ``listing_create``/``listing_update``
before any call, and sends them through the same queue, so the relay's
polling, retries and rejections apply to them unchanged.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext

from catalog.models import Variant
from integrations.marketplaces.adapters import adapter_for, max_items_for
from integrations.marketplaces.adapters.base import (
    BatchResult,
    DuplicateRequest,
    ListingItem,
    MarketplaceAdapter,
    MarketplaceError,
    MarketplaceOrder,
    PermanentError,
    PriceStockItem,
    RateLimited,
    TransientError,
)
from integrations.marketplaces.models import (
    BatchKind,
    BatchState,
    ImportState,
    Listing,
    ListingState,
    Marketplace,
    OrderImport,
    SyncBatch,
    SyncEvent,
    SyncRejection,
)
from integrations.marketplaces.selectors import (
    ListingDraft,
    is_unchanged,
    listing_drafts,
    listing_scope,
    listing_targets,
    listings_for_publishing,
)
from integrations.ratelimit import token_wait
from orders.errors import CheckoutError, OrderError
from orders.models import Order, OutboxEvent, Shipment
from orders.services import ImportedLine, ImportedOrder, order_import
from shop.task_runs import task_progress

logger = logging.getLogger(__name__)

LOCK_CLASS = zlib.crc32(b"marketplaces.relay") & 0x7FFFFFFF
EVENTS_PER_ROUND = 5000
RESULTS_KEPT_HOURS = 4  # Trendyol keeps batch results this long
ORDERS_OVERLAP = timedelta(hours=1)  # read again, in case a package changed late
ORDERS_FIRST_WINDOW = timedelta(days=3)
ORDERS_MAX_WINDOW = timedelta(days=14)


# 1. The outbox, written in the changing transaction


def sync_events_note(products_sql: str, params: list[list[int]], source: str) -> None:
    """Add sync events for the products ``products_sql`` selects (one INSERT … SELECT).

    Registered with ``catalog.services.product_change_listener_register``.
    Only active marketplaces listing a variant of the product get one; a
    change of one price list or stock pool only reaches the marketplaces
    whose market uses it.
    """
    condition, extra = _source_condition(source)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO marketplaces_syncevent (marketplace_id, product_id, source, created_at) "  # noqa: S608
            "SELECT DISTINCT m.id, changed.id, %s, now() "
            f"FROM ({products_sql}) AS changed(id) "
            "JOIN catalog_variant v ON v.product_id = changed.id "
            "JOIN marketplaces_listing l ON l.variant_id = v.id "
            "JOIN marketplaces_marketplace m ON m.id = l.marketplace_id AND m.is_active "
            f"WHERE TRUE {condition}",
            [source[:60], *params, *extra],
        )


def _source_condition(source: str) -> tuple[str, list[int]]:
    kind, _, identifier = source.partition(":")
    if not identifier.isdigit():
        return "", []
    if kind == "price-list":
        return (
            "AND EXISTS (SELECT 1 FROM pricing_marketpricelist link "
            "WHERE link.market_id = m.market_id AND link.price_list_id = %s)",
            [int(identifier)],
        )
    if kind == "stock-pool":
        return (
            "AND EXISTS (SELECT 1 FROM pricing_marketstockpool link "
            "WHERE link.market_id = m.market_id AND link.pool_id = %s)",
            [int(identifier)],
        )
    return "", []


# Orders reserve and release stock without noting their products as changed
# (the listing table only follows a pool running out): their outbox events do.
STOCK_MOVING_EVENTS = ("order.placed", "order.cancelled", "order.refunded")


def order_stock_moved(event: OutboxEvent) -> None:
    """Orders' outbox handler: an order placed (units reserved), cancelled or
    refunded (units back) changes what marketplaces may sell, so its products
    get sync events (one INSERT … SELECT, in the outbox drain's transaction)."""
    if event.kind not in STOCK_MOVING_EVENTS or event.order_id is None:
        return
    sync_events_note(
        "SELECT DISTINCT v.product_id FROM orders_orderline line "
        "JOIN catalog_variant v ON v.id = line.variant_id WHERE line.order_id = ANY(%s)",
        [[event.order_id]],
        "stock",
    )


def marketplace_resync_note(*, marketplace: Marketplace | None = None) -> int:
    """An event for every listed product of active marketplaces (or one marketplace).

    The hourly safety net: stock that moves without a listing change (a
    storefront sale that leaves units in the pool) is caught here; only
    items that differ from what was last sent are sent.
    """
    sql = (
        "INSERT INTO marketplaces_syncevent (marketplace_id, product_id, source, created_at) "
        "SELECT DISTINCT m.id, v.product_id, 'resync', now() FROM marketplaces_listing l "
        "JOIN marketplaces_marketplace m ON m.id = l.marketplace_id AND m.is_active "
        "JOIN catalog_variant v ON v.id = l.variant_id"
    )
    params: list[int] = []
    if marketplace is not None:
        sql += " WHERE m.id = %s"
        params.append(marketplace.pk)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.rowcount)


# 2–4. The relay


@dataclass
class RelayReport:
    """What one relay run did for one marketplace."""

    marketplace: str
    busy: bool = False
    events: int = 0
    items_queued: int = 0
    items_unchanged: int = 0
    batches_sent: int = 0
    batches_completed: int = 0
    rejections: int = 0
    deferred: str = ""
    errors: list[str] = field(default_factory=list)


@contextmanager
def _relay_lock(marketplace_id: int) -> Iterator[bool]:
    """The marketplace's session advisory lock, if free: one relay at a time."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_CLASS, marketplace_id])
        (taken,) = cursor.fetchone()
    try:
        yield bool(taken)
    finally:
        if taken:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_CLASS, marketplace_id])


def marketplace_relay(
    *, marketplace: Marketplace, adapter: MarketplaceAdapter | None = None
) -> RelayReport:
    """Poll sent batches, batch pending events, send due batches (see the module docstring).

    Idempotent and safe to run concurrently: a second run for the same
    marketplace returns at once (``busy``).
    """
    report = RelayReport(marketplace=marketplace.code)
    with _relay_lock(marketplace.pk) as taken:
        if not taken:
            report.busy = True
            return report
        marketplace.refresh_from_db()
        adapter = adapter or adapter_for(marketplace)
        batches_poll(marketplace=marketplace, adapter=adapter, report=report)
        while True:
            claimed = events_batch(marketplace=marketplace, report=report)
            sent = batches_send(marketplace=marketplace, adapter=adapter, report=report)
            task_progress(report.events, report.events + (EVENTS_PER_ROUND if claimed else 0))
            if not claimed or not sent:
                break
    return report


def events_batch(*, marketplace: Marketplace, report: RelayReport) -> bool:
    """Turn pending events into ``sending`` batches of changed items, in one transaction.

    Returns whether there may be more events (a full round was claimed).
    """
    limit = getattr(settings, "MARKETPLACE_EVENTS_PER_ROUND", EVENTS_PER_ROUND)
    max_items = adapter_max_items(marketplace)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id, product_id FROM marketplaces_syncevent WHERE marketplace_id = %s "
                "ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
                [marketplace.pk, limit],
            )
            rows = cursor.fetchall()
        if not rows:
            return False
        event_ids = [event_id for event_id, _ in rows]
        product_ids = sorted({product_id for _, product_id in rows})
        listings = list(
            Listing.objects.select_for_update(of=("self",))
            .filter(marketplace=marketplace, variant__product_id__in=product_ids)
            .order_by("pk")
        )
        targets = listing_targets(marketplace, listings)
        now = timezone.now()
        changed: list[tuple[Listing, PriceStockItem]] = []
        for listing in listings:
            item = targets[listing.pk]
            if is_unchanged(listing, item):
                report.items_unchanged += 1
                continue
            changed.append((listing, item))
            listing.last_sent_quantity = item.quantity
            if item.sale_price is not None:
                listing.last_sent_price = item.sale_price
                listing.last_sent_list_price = item.list_price
            listing.last_sent_at = now
            listing.state = ListingState.SENT
        chunks = [changed[start : start + max_items] for start in range(0, len(changed), max_items)]
        SyncBatch.objects.bulk_create(
            [
                SyncBatch(
                    marketplace=marketplace,
                    state=BatchState.SENDING,
                    items=[{"listing": listing.pk, **item.as_dict()} for listing, item in chunk],
                    item_count=len(chunk),
                    next_attempt_at=now,
                )
                for chunk in chunks
            ]
        )
        Listing.objects.bulk_update(
            [listing for listing, _ in changed],
            [
                "last_sent_quantity",
                "last_sent_price",
                "last_sent_list_price",
                "last_sent_at",
                "state",
            ],
        )
        SyncEvent.objects.filter(pk__in=event_ids).delete()
    report.events += len(rows)
    report.items_queued += len(changed)
    return len(rows) >= limit


def adapter_max_items(marketplace: Marketplace) -> int:
    """Items per batch: the adapter's limit."""
    return max_items_for(marketplace)


def _backoff(attempts: int) -> timedelta:
    base = float(getattr(settings, "MARKETPLACE_RETRY_BACKOFF_SECONDS", 30))
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), 3600))


def batches_send(
    *, marketplace: Marketplace, adapter: MarketplaceAdapter, report: RelayReport
) -> bool:
    """Send due batches oldest first; stop at the first that must wait (keeps the order).

    Returns False when sending stopped early (rate limit, outage).
    """
    rate = float(marketplace.requests_per_second)
    burst = int(marketplace.request_burst)
    wait_limit = float(getattr(settings, "MARKETPLACE_RATE_WAIT_SECONDS", 20))
    while True:
        batch = (
            SyncBatch.objects.filter(
                marketplace=marketplace, state__in=[BatchState.SENDING, BatchState.WAITING]
            )
            .order_by("pk")
            .first()
        )
        if batch is None:
            return True
        now = timezone.now()
        if batch.next_attempt_at is not None and batch.next_attempt_at > now:
            report.deferred = gettext("Batch %(id)s waits until %(at)s.") % {
                "id": batch.pk,
                "at": batch.next_attempt_at.isoformat(timespec="seconds"),
            }
            return False
        if not token_wait(marketplace.bucket_key, rate=rate, burst=burst, limit=wait_limit):
            report.deferred = gettext("The request budget is used up; next run.")
            return False
        batch.attempts += 1
        batch.state = BatchState.SENDING
        batch.save(update_fields=["attempts", "state"])
        try:
            remote_id = _batch_push(adapter, batch)
        except RateLimited as error:
            _batch_defer(batch, str(error), timedelta(seconds=max(error.retry_after, 1)))
            report.deferred = str(error)
            return False
        except DuplicateRequest as error:
            # The same request went through moments ago (a re-send after a crash).
            _batch_close(batch, BatchState.COMPLETED, note=str(error))
            report.batches_completed += 1
            continue
        except TransientError as error:
            _batch_defer(batch, str(error), _backoff(batch.attempts))
            report.errors.append(str(error))
            return False
        except PermanentError as error:
            report.rejections += _batch_refused(batch, str(error))
            report.errors.append(str(error))
            continue
        batch_sent(batch, remote_id)
        report.batches_sent += 1


def _batch_push(adapter: MarketplaceAdapter, batch: SyncBatch) -> str:
    """Send a batch with the adapter call of its kind; returns the marketplace's id."""
    if batch.kind == BatchKind.PRICE_STOCK:
        return adapter.price_stock_push([PriceStockItem.from_dict(item) for item in batch.items])
    return adapter.listings_push(
        [ListingItem.from_dict(item) for item in batch.items],
        update=batch.kind == BatchKind.LISTING_UPDATE,
    )


def batch_sent(batch: SyncBatch, remote_id: str) -> None:
    """Store the marketplace's id of a batch it accepted (the acknowledgement)."""
    batch.state = BatchState.SENT
    batch.remote_id = remote_id[:100]
    batch.sent_at = timezone.now()
    batch.last_error = ""
    batch.save(update_fields=["state", "remote_id", "sent_at", "last_error"])


def _batch_defer(batch: SyncBatch, error: str, delay: timedelta) -> None:
    batch.state = BatchState.WAITING
    batch.next_attempt_at = timezone.now() + delay
    batch.last_error = error[:2000]
    batch.save(update_fields=["state", "next_attempt_at", "last_error"])


def _batch_close(batch: SyncBatch, state: str, *, note: str = "", failed: int = 0) -> None:
    batch.state = state
    batch.completed_at = timezone.now()
    batch.failed_count = failed
    batch.last_error = note[:2000]
    batch.save(update_fields=["state", "completed_at", "failed_count", "last_error"])


def _batch_refused(batch: SyncBatch, reason: str) -> int:
    """The whole request was refused: every item is a rejection, sent again on change."""
    with transaction.atomic():
        _rejections_record(batch, {str(item["barcode"]): [reason] for item in batch.items})
        _batch_close(batch, BatchState.FAILED, note=reason, failed=batch.item_count)
    return batch.item_count


def _rejections_record(batch: SyncBatch, refused: dict[str, list[str]]) -> int:
    """Record refused items (barcode → reasons) and clear what their listings were sent."""
    by_barcode = {str(item["barcode"]): item for item in batch.items}
    listing_ids = {
        str(item["barcode"]): item.get("listing") for item in batch.items if item.get("listing")
    }
    rows = []
    for barcode, reasons in refused.items():
        reason = "; ".join(reasons) or gettext("Refused without a reason.")
        rows.append(
            SyncRejection(
                marketplace_id=batch.marketplace_id,
                batch=batch,
                listing_id=listing_ids.get(barcode),
                barcode=barcode[:40],
                reason=reason,
                item=by_barcode.get(barcode, {}),
            )
        )
        Listing.objects.filter(
            marketplace_id=batch.marketplace_id, barcode=barcode, last_sent_at__lte=batch.created_at
        ).update(
            state=ListingState.REJECTED,
            last_error=reason,
            last_sent_price=None,
            last_sent_list_price=None,
            last_sent_quantity=None,
        )
    SyncRejection.objects.bulk_create(rows)
    return len(rows)


def batches_poll(
    *, marketplace: Marketplace, adapter: MarketplaceAdapter, report: RelayReport
) -> None:
    """Read the results of sent batches; record refused items with their reasons."""
    kept = timedelta(hours=RESULTS_KEPT_HOURS)
    for batch in SyncBatch.objects.filter(marketplace=marketplace, state=BatchState.SENT).order_by(
        "pk"
    ):
        try:
            result = adapter.batch_result(batch.remote_id)
        except MarketplaceError as error:
            report.errors.append(str(error))
            if batch.sent_at and timezone.now() - batch.sent_at > kept:
                _batch_close(batch, BatchState.COMPLETED, note=str(error))
            continue
        if not result.done:
            if batch.sent_at and timezone.now() - batch.sent_at > kept:
                _batch_close(
                    batch, BatchState.COMPLETED, note=gettext("No results before they expired.")
                )
            continue
        report.rejections += batch_results_apply(batch, result)
        report.batches_completed += 1


def batch_results_apply(batch: SyncBatch, result: BatchResult) -> int:
    """Mark accepted listings active (and on the marketplace since now, if they were not)
    and record refused items; returns the refused count."""
    refused = {item.barcode: list(item.reasons) for item in result.items if not item.is_accepted}
    accepted = [item.barcode for item in result.items if item.is_accepted]
    with transaction.atomic():
        Listing.objects.filter(
            marketplace_id=batch.marketplace_id,
            barcode__in=accepted,
            last_sent_at__lte=batch.created_at,
        ).update(
            state=ListingState.ACTIVE,
            last_error="",
            listed_at=Coalesce(F("listed_at"), timezone.now()),
        )
        count = _rejections_record(batch, refused)
        _batch_close(batch, BatchState.COMPLETED, failed=count)
    return count


def marketplaces_relay() -> list[RelayReport]:
    """Run the relay for every active marketplace (the beat task)."""
    reports = []
    for marketplace in Marketplace.objects.filter(is_active=True).select_related("market"):
        try:
            reports.append(marketplace_relay(marketplace=marketplace))
        except PermanentError as error:  # e.g. a misconfigured adapter: the others go on
            logger.error("Marketplace %s cannot sync: %s", marketplace.code, error)
            reports.append(RelayReport(marketplace=marketplace.code, errors=[str(error)]))
    return reports


# Creating products on the marketplace


class ListingPublishError(Exception):
    """Products cannot be sent to this marketplace as asked; the message says why."""


@dataclass
class PublishReport:
    """What one ``listings_publish`` run did."""

    marketplace: str
    busy: bool = False
    listings: int = 0
    items_queued: int = 0
    not_sendable: int = 0
    batches_sent: int = 0
    deferred: str = ""
    errors: list[str] = field(default_factory=list)


def listings_publish(
    *,
    marketplace: Marketplace,
    listing_ids: Sequence[int] | None = None,
    update: bool = False,
    adapter: MarketplaceAdapter | None = None,
) -> PublishReport:
    """Create (``update``: update) listings' products on the marketplace.

    ``listing_ids`` None: every listed variant not yet on the marketplace (to
    update: every one already there).
    Each batch of at most the adapter's item limit is built
    (``selectors.listing_drafts``); what cannot be sent (no category
    mapping, image, brand, name in the language, price) becomes a rejection
    with the reason, on the listing too; the rest is recorded as a product
    batch before it is sent. Sending goes through the relay's queue: the
    token bucket, 429s and outages defer it, and the relay's next run reads
    the results (accepted listings become active, refused ones get the
    marketplace's reasons).

    Holds the relay's lock: while a relay runs, nothing is done (``busy``;
    the caller asks again). Listings waiting for a product request's result
    are skipped, so asking twice sends once.
    """
    if not marketplace.is_active:
        raise ListingPublishError(
            gettext("%(marketplace)s is not active: activate it first.")
            % {"marketplace": marketplace.name}
        )
    if listing_ids is not None:
        listing_ids = sorted({int(pk) for pk in listing_ids})
        foreign = set(listing_ids) - set(
            Listing.objects.filter(marketplace=marketplace, pk__in=listing_ids).values_list(
                "pk", flat=True
            )
        )
        if foreign:
            raise ListingPublishError(
                gettext("Listings %(ids)s are not listings of %(marketplace)s.")
                % {"ids": ", ".join(map(str, sorted(foreign))), "marketplace": marketplace.name}
            )
    report = PublishReport(marketplace=marketplace.code)
    with _relay_lock(marketplace.pk) as taken:
        if not taken:
            report.busy = True
            return report
        marketplace.refresh_from_db()
        adapter = adapter or adapter_for(marketplace)
        scope = listing_scope(marketplace)
        kind = BatchKind.LISTING_UPDATE if update else BatchKind.LISTING_CREATE
        chosen = listings_for_publishing(marketplace, listing_ids=listing_ids, update=update)
        ids = list(chosen.values_list("pk", flat=True))
        report.listings = len(ids)
        max_items = adapter_max_items(marketplace)
        for start in range(0, len(ids), max_items):
            chunk = ids[start : start + max_items]
            with transaction.atomic():
                listings = Listing.objects.select_for_update(of=("self",)).filter(pk__in=chunk)
                _product_batch_record(marketplace, listing_drafts(scope, listings), kind, report)
            task_progress(start + len(chunk), len(ids))
        relay = RelayReport(marketplace=marketplace.code)
        batches_send(marketplace=marketplace, adapter=adapter, report=relay)
        report.batches_sent = relay.batches_sent
        report.deferred = relay.deferred
        report.errors.extend(relay.errors)
    return report


def _product_batch_record(
    marketplace: Marketplace, drafts: list[ListingDraft], kind: str, report: PublishReport
) -> None:
    """One batch of sendable items (recorded ``sending``, sent later), and a rejection
    for every listing that cannot be sent (in the caller's transaction)."""
    now = timezone.now()
    sendable = [draft for draft in drafts if draft.item is not None]
    blocked = [draft for draft in drafts if draft.item is None]
    for draft in sendable:
        assert draft.item is not None
        listing = draft.listing
        if kind == BatchKind.LISTING_CREATE:
            # Created with these prices and stock: the sync sends only what changes.
            # (An update leaves them alone on the marketplace: the sync keeps them.)
            listing.last_sent_quantity = draft.item.quantity
            listing.last_sent_price = draft.item.sale_price
            listing.last_sent_list_price = draft.item.list_price
        listing.last_sent_at = now
        listing.last_error = ""
        listing.state = ListingState.SENT
    for draft in blocked:
        draft.listing.last_error = draft.reason
        if draft.listing.listed_at is None:
            draft.listing.state = ListingState.REJECTED
    if sendable:
        SyncBatch.objects.create(
            marketplace=marketplace,
            kind=kind,
            state=BatchState.SENDING,
            items=[
                {"listing": draft.listing.pk, **draft.item.as_dict()}
                for draft in sendable
                if draft.item is not None
            ],
            item_count=len(sendable),
            next_attempt_at=now,
        )
    SyncRejection.objects.bulk_create(
        [
            SyncRejection(
                marketplace=marketplace,
                listing=draft.listing,
                barcode=draft.listing.barcode,
                reason=draft.reason,
                item={"listing": draft.listing.pk, "sku": draft.listing.variant.sku},
            )
            for draft in blocked
        ]
    )
    Listing.objects.bulk_update(
        [draft.listing for draft in drafts],
        [
            "last_sent_quantity",
            "last_sent_price",
            "last_sent_list_price",
            "last_sent_at",
            "last_error",
            "state",
        ],
    )
    report.items_queued += len(sendable)
    report.not_sendable += len(blocked)


# Orders


@dataclass
class ImportReport:
    marketplace: str
    read: int = 0
    imported: int = 0
    already: int = 0
    rejected: int = 0
    errors: list[str] = field(default_factory=list)


def marketplace_orders_import(
    *,
    marketplace: Marketplace,
    adapter: MarketplaceAdapter | None = None,
    now: datetime | None = None,
) -> ImportReport:
    """Read the marketplace's orders changed since the last run and import the new ones.

    Every package read is recorded (``OrderImport``): imported (and
    acknowledged to the marketplace), or refused with its reason — no stock,
    an unknown barcode — and tried again on the next run while the
    marketplace still offers it. Reading the same order twice, even at the
    same time, imports it once.
    """
    report = ImportReport(marketplace=marketplace.code)
    adapter = adapter or adapter_for(marketplace)
    now = now or timezone.now()
    start = (
        marketplace.orders_read_until - ORDERS_OVERLAP
        if marketplace.orders_read_until
        else now - ORDERS_FIRST_WINDOW
    )
    start = max(start, now - ORDERS_MAX_WINDOW)
    for order in adapter.orders_pull(start=start, end=now):
        report.read += 1
        outcome = marketplace_order_take(marketplace=marketplace, order=order, adapter=adapter)
        setattr(report, outcome, getattr(report, outcome) + 1)
    Marketplace.objects.filter(pk=marketplace.pk).update(orders_read_until=now)
    marketplace.orders_read_until = now
    return report


def marketplace_order_take(
    *, marketplace: Marketplace, order: MarketplaceOrder, adapter: MarketplaceAdapter
) -> str:
    """Import one marketplace order; returns "imported", "already" or "rejected".

    A package the marketplace no longer offers (cancelled, shipped elsewhere)
    is not imported; one refused before stays refused.
    """
    record = OrderImport.objects.filter(
        marketplace=marketplace, external_id=order.external_id
    ).first()
    if record is not None and record.state == ImportState.IMPORTED:
        if not record.acknowledged:
            _acknowledge(record, order, adapter)
        return "already"
    if not order.is_new:
        return "already" if record is None else "rejected"
    payload = _order_payload(order)
    barcodes = {line.barcode for line in order.lines}
    variants = dict(
        Listing.objects.filter(marketplace=marketplace, barcode__in=barcodes).values_list(
            "barcode", "variant_id"
        )
    )
    unknown = sorted(barcodes - set(variants))
    if unknown:
        reason = gettext("Not listed here: %(barcodes)s.") % {"barcodes": ", ".join(unknown)}
        _import_record(marketplace, order, payload, ImportState.REJECTED, reason=reason)
        return "rejected"
    imported = ImportedOrder(
        channel=marketplace.code,
        external_reference=order.external_id,
        market_id=marketplace.market_id,
        currency=order.currency,
        email=order.email or f"{order.external_id}@{marketplace.code}.invalid",
        phone=order.phone,
        shipping_address=order.shipping_address,
        billing_address=order.billing_address,
        lines=tuple(
            ImportedLine(
                variant_id=variants[line.barcode],
                quantity=line.quantity,
                unit_gross=line.unit_price,
                tax_rate=line.tax_rate,
                name=line.name,
            )
            for line in order.lines
        ),
        payment_method_name=marketplace.name,
        is_paid=True,
    )
    try:
        placed, created = order_import(imported=imported, by=f"marketplace:{marketplace.code}")
    except (CheckoutError, OrderError) as error:
        _import_record(marketplace, order, payload, ImportState.REJECTED, reason=str(error))
        return "rejected"
    record = _import_record(marketplace, order, payload, ImportState.IMPORTED, placed=placed)
    if not record.acknowledged:
        _acknowledge(record, order, adapter)
    return "imported" if created else "already"


def _order_payload(order: MarketplaceOrder) -> dict[str, Any]:
    return {
        "order_number": order.order_number,
        "status": order.status,
        "currency": order.currency,
        "lines": [
            {
                "barcode": line.barcode,
                "quantity": line.quantity,
                "price": str(line.unit_price),
                "tax_rate": str(line.tax_rate),
                "name": line.name,
            }
            for line in order.lines
        ],
    }


def _import_record(
    marketplace: Marketplace,
    order: MarketplaceOrder,
    payload: dict[str, Any],
    state: str,
    *,
    reason: str = "",
    placed: Order | None = None,
) -> OrderImport:
    defaults = {
        "order_number": order.order_number[:100],
        "state": state,
        "reason": reason,
        "order": placed,
        "payload": payload,
    }
    for _attempt in range(2):
        try:
            with transaction.atomic():
                record, created = OrderImport.objects.select_for_update().get_or_create(
                    marketplace=marketplace, external_id=order.external_id, defaults=defaults
                )
                if not created:
                    if record.state == ImportState.IMPORTED and state != ImportState.IMPORTED:
                        return record  # a concurrent import won: keep its outcome
                    for name, value in defaults.items():
                        setattr(record, name, value)
                    record.attempts += 1
                    record.save()
                return record
        except IntegrityError:
            continue  # created concurrently: read and update it
    raise RuntimeError("Order import record could not be written.")


def _acknowledge(record: OrderImport, order: MarketplaceOrder, adapter: MarketplaceAdapter) -> None:
    try:
        adapter.order_acknowledge(order)
    except MarketplaceError as error:
        logger.warning("Marketplace order %s not acknowledged: %s", record.external_id, error)
        return
    OrderImport.objects.filter(pk=record.pk).update(acknowledged=True)
    record.acknowledged = True


def marketplaces_orders_import() -> list[ImportReport]:
    """Import the orders of every active marketplace (the beat task)."""
    reports = []
    for marketplace in Marketplace.objects.filter(is_active=True):
        try:
            reports.append(marketplace_orders_import(marketplace=marketplace))
        except MarketplaceError as error:
            logger.warning("Orders of %s not read: %s", marketplace.code, error)
            reports.append(ImportReport(marketplace=marketplace.code, errors=[str(error)]))
    return reports


# Shipping


def order_shipped_forward(event: OutboxEvent) -> None:
    """Orders' outbox handler: a shipped marketplace order sends its tracking number
    to the marketplace (a task queued after the commit)."""
    if event.kind != "order.shipped" or event.order_id is None:
        return
    shipment_id = event.payload.get("shipment")
    if not isinstance(shipment_id, int):
        return
    is_marketplace_order = OrderImport.objects.filter(
        order_id=event.order_id, state=ImportState.IMPORTED
    ).exists()
    if not is_marketplace_order:
        return
    from integrations.marketplaces.tasks import tracking_send

    transaction.on_commit(lambda: tracking_send.delay(shipment_id))


def marketplace_tracking_send(*, shipment_id: int) -> bool:
    """Send a shipment's tracking number to the marketplace the order came from.

    False when there is nothing to send (no tracking number, not a
    marketplace order). Transient errors propagate (the task retries).
    """
    shipment = Shipment.objects.select_related("order").filter(pk=shipment_id).first()
    if shipment is None or not shipment.tracking_number:
        return False
    record = (
        OrderImport.objects.select_related("marketplace")
        .filter(order_id=shipment.order_id, state=ImportState.IMPORTED)
        .first()
    )
    if record is None:
        return False
    adapter = adapter_for(record.marketplace)
    adapter.order_ship(
        external_id=record.external_id,
        tracking_number=shipment.tracking_number,
        carrier=shipment.carrier,
    )
    return True


def listings_add(*, marketplace: Marketplace, variant_ids: Sequence[int]) -> int:
    """List variants on the marketplace (barcode: the GTIN, else the SKU); returns how
    many were new. Their current price and stock go out with the next relay run."""
    rows = list(Variant.objects.filter(pk__in=variant_ids).values_list("pk", "gtin", "sku"))
    with transaction.atomic():
        listed = set(
            Listing.objects.filter(
                marketplace=marketplace, variant_id__in=[pk for pk, _gtin, _sku in rows]
            ).values_list("variant_id", flat=True)
        )
        new = [
            Listing(marketplace=marketplace, variant_id=pk, barcode=(gtin or sku)[:40])
            for pk, gtin, sku in rows
            if pk not in listed
        ]
        Listing.objects.bulk_create(new, ignore_conflicts=True)
        listings_queue(marketplace=marketplace, variant_ids=[listing.variant_id for listing in new])
    return len(new)


def listings_queue(*, marketplace: Marketplace, variant_ids: Sequence[int]) -> None:
    """A sync event for the products of these variants (a listing added or changed by
    hand), in the caller's transaction; nothing for an inactive marketplace."""
    if not variant_ids or not marketplace.is_active:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO marketplaces_syncevent (marketplace_id, product_id, source, created_at) "
            "SELECT DISTINCT %s, product_id, 'listing', now() FROM catalog_variant "
            "WHERE id = ANY(%s)",
            [marketplace.pk, list(variant_ids)],
        )
