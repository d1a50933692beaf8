"""Writes of the ERP API: bulk prices and stock, order acknowledgements, shipments,
and the stored answers of idempotency keys.

Bulk writes are all-or-nothing: every row is checked first and any problem
refuses the whole call with row-level errors; then everything is written in
one transaction through ``pricing.services`` (one statement per price list or
stock pool), so the listing table, the caches and derived price lists follow.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from catalog.models import Variant
from integrations.erp.errors import ErpError, RowError
from integrations.erp.models import ApiToken, IdempotencyRecord, OrderAcknowledgement
from orders.errors import OrderError
from orders.models import Order, Shipment
from orders.services import shipment_create
from pricing.models import PriceList, StockLevel, StockPool
from pricing.services import (
    PriceAmounts,
    price_amounts_check,
    prices_bulk_set,
    stock_quantities_set,
)

MAX_ROWS = 10_000
MAX_ROW_ERRORS = 500  # a call with more bad rows reports the first ones
# Our field names as the API spells them.
PRICE_FIELDS = {"compare_at_amount": "compare_at", "sale_amount": "sale"}


@dataclass(frozen=True)
class PriceRow:
    sku: str
    price_list: str
    amount: Decimal
    compare_at: Decimal | None = None
    sale: Decimal | None = None
    sale_starts_at: datetime | None = None
    sale_ends_at: datetime | None = None


@dataclass(frozen=True)
class StockRow:
    sku: str
    pool: str
    quantity: int


@dataclass(frozen=True)
class BulkResult:
    rows: int
    changed: int


def _refuse(errors: list[RowError]) -> ErpError:
    return ErpError(
        422,
        "invalid_rows",
        gettext("%(count)s rows cannot be written; nothing was changed.")
        % {"count": len({error["row"] for error in errors})},
        errors=errors[:MAX_ROW_ERRORS],
    )


def _variants_by_sku(skus: set[str]) -> dict[str, tuple[int, bool]]:
    """SKU → (variant id, allows backorder), in one query."""
    return {
        sku: (pk, backorder)
        for sku, pk, backorder in Variant.objects.filter(sku__in=skus).values_list(
            "sku", "pk", "allows_backorder"
        )
    }


def prices_write(*, rows: Sequence[PriceRow]) -> BulkResult:
    """Set the prices of ``rows`` (each: a SKU's price in a price list), all or none.

    A row sets the whole price, as typing it in the admin does: a compare-at or
    sale amount left out is cleared. ``ErpError`` (422) lists the rows refused.
    """
    if len(rows) > MAX_ROWS:
        raise ErpError(
            422, "too_many_rows", gettext("Send at most %(max)s rows.") % {"max": MAX_ROWS}
        )
    variants = _variants_by_sku({row.sku for row in rows})
    lists = {
        price_list.code: price_list
        for price_list in PriceList.objects.filter(code__in={row.price_list for row in rows})
    }
    errors: list[RowError] = []
    seen: set[tuple[str, str]] = set()
    by_list: dict[str, dict[int, PriceAmounts]] = defaultdict(dict)
    for index, row in enumerate(rows):
        if row.sku not in variants:
            errors.append({"row": index, "field": "sku", "message": gettext("No such SKU.")})
        if row.price_list not in lists:
            errors.append(
                {"row": index, "field": "price_list", "message": gettext("No such price list.")}
            )
        if (row.sku, row.price_list) in seen:
            errors.append(
                {
                    "row": index,
                    "field": "sku",
                    "message": gettext("This SKU's price in this list is already in the call."),
                }
            )
        seen.add((row.sku, row.price_list))
        amounts = PriceAmounts(
            amount=row.amount,
            compare_at_amount=row.compare_at,
            sale_amount=row.sale,
            sale_starts_at=row.sale_starts_at,
            sale_ends_at=row.sale_ends_at,
        )
        try:
            price_amounts_check(
                amount=amounts.amount,
                compare_at_amount=amounts.compare_at_amount,
                sale_amount=amounts.sale_amount,
                sale_starts_at=amounts.sale_starts_at,
                sale_ends_at=amounts.sale_ends_at,
            )
        except ValidationError as invalid:
            for name, messages in invalid.message_dict.items():
                errors.extend(
                    {"row": index, "field": PRICE_FIELDS.get(name, name), "message": message}
                    for message in messages
                )
        if row.sku in variants:
            by_list[row.price_list][variants[row.sku][0]] = amounts
    if errors:
        raise _refuse(errors)
    changed = 0
    try:
        with transaction.atomic():
            for code in sorted(by_list):  # locks in a stable order
                changed += prices_bulk_set(price_list=lists[code], prices=by_list[code])
    except (ValidationError, IntegrityError) as refused:
        raise ErpError(
            409,
            "prices_refused",
            gettext("The prices were refused; nothing was changed: %(reason)s")
            % {"reason": "; ".join(getattr(refused, "messages", [str(refused)]))},
        ) from refused
    return BulkResult(rows=len(rows), changed=changed)


def stock_write(*, rows: Sequence[StockRow]) -> BulkResult:
    """Set the quantities of ``rows`` (each: how many of a SKU a pool holds), all or none.

    Reservations stay as they are; a quantity below what open orders reserved of
    a variant sold without backorder is refused. Levels that this takes from
    above a variant's low-stock threshold to at or below it raise ``stock.low``
    (``stock_quantities_set`` notes the change; ``webhooks.stock_low_note`` checks it).
    """
    if len(rows) > MAX_ROWS:
        raise ErpError(
            422, "too_many_rows", gettext("Send at most %(max)s rows.") % {"max": MAX_ROWS}
        )
    variants = _variants_by_sku({row.sku for row in rows})
    pools = {
        pool.code: pool for pool in StockPool.objects.filter(code__in={row.pool for row in rows})
    }
    reserved_units = {
        (variant_id, pool_id): reserved
        for variant_id, pool_id, reserved in StockLevel.objects.filter(
            pool_id__in=[pool.pk for pool in pools.values()],
            variant_id__in=[variant[0] for variant in variants.values()],
        ).values_list("variant_id", "pool_id", "reserved")
    }
    errors: list[RowError] = []
    seen: set[tuple[str, str]] = set()
    by_pool: dict[str, dict[int, int]] = defaultdict(dict)
    for index, row in enumerate(rows):
        variant = variants.get(row.sku)
        pool = pools.get(row.pool)
        if variant is None:
            errors.append({"row": index, "field": "sku", "message": gettext("No such SKU.")})
        if pool is None:
            errors.append(
                {"row": index, "field": "pool", "message": gettext("No such stock pool.")}
            )
        if row.quantity < 0:
            errors.append(
                {
                    "row": index,
                    "field": "quantity",
                    "message": gettext("A quantity cannot be negative."),
                }
            )
        if (row.sku, row.pool) in seen:
            errors.append(
                {
                    "row": index,
                    "field": "sku",
                    "message": gettext("This SKU's stock in this pool is already in the call."),
                }
            )
        seen.add((row.sku, row.pool))
        if variant is None or pool is None:
            continue
        variant_id, allows_backorder = variant
        reserved = reserved_units.get((variant_id, pool.pk), 0)
        if not allows_backorder and 0 <= row.quantity < reserved:
            errors.append(
                {
                    "row": index,
                    "field": "quantity",
                    "message": gettext("Open orders have reserved %(reserved)s units.")
                    % {"reserved": reserved},
                }
            )
        by_pool[row.pool][variant_id] = row.quantity
    if errors:
        raise _refuse(errors)
    changed = 0
    try:
        with transaction.atomic():
            for code in sorted(by_pool):
                changed += stock_quantities_set(pool_id=pools[code].pk, quantities=by_pool[code])
    except (ValidationError, IntegrityError) as refused:
        raise ErpError(
            409,
            "stock_refused",
            gettext("The stock was refused (orders changed it meanwhile?); nothing was changed."),
        ) from refused
    return BulkResult(rows=len(rows), changed=changed)


def order_acknowledge(
    *, order: Order, token: ApiToken, reference: str = ""
) -> tuple[OrderAcknowledgement, bool]:
    """Record that the ERP took the order over; (the acknowledgement, whether it is new).

    Idempotent: acknowledging again returns the first acknowledgement unchanged.
    """
    with transaction.atomic():
        acknowledgement, created = OrderAcknowledgement.objects.get_or_create(
            order=order, defaults={"token": token, "reference": reference.strip()[:100]}
        )
    return acknowledgement, created


def order_ship(
    *,
    order: Order,
    token: ApiToken,
    lines: dict[int, int],
    carrier: str,
    tracking_number: str,
) -> Shipment:
    """A shipment of some of the order's lines (``orders.services.shipment_create``);
    the order becomes partially shipped or shipped. ``ErpError`` when refused."""
    try:
        return shipment_create(
            order=order,
            lines=lines,
            method_id=None,
            tracking_number=tracking_number,
            carrier=carrier,
            by=f"ERP API: {token.name}",
        )
    except OrderError as refused:
        status = 409 if refused.code == "not_shippable" else 422
        raise ErpError(status, refused.code, refused.message, field="lines") from refused


# Idempotency keys


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(b"\n".join([method.encode(), path.encode(), body])).hexdigest()


def idempotent(
    *, token: ApiToken, key: str, fingerprint: str, run: Callable[[], tuple[int, str]]
) -> tuple[int, str, bool]:
    """The answer (status, JSON body) to a request sent with an idempotency key, and
    whether it is a replay.

    The first request under a key runs ``run`` and stores its answer in the same
    transaction as its writes; a repeat with the same request gets that answer
    back; with another request, or while the first still runs, it is refused.
    Keys are forgotten after ``ERP_IDEMPOTENCY_HOURS``. Exceptions of ``run``
    (not answers) store nothing, so the request can be retried.
    """
    key = key.strip()
    if not key or len(key) > 255:
        raise ErpError(
            422,
            "invalid_idempotency_key",
            gettext("An Idempotency-Key has 1 to 255 characters."),
            field="Idempotency-Key",
        )
    expired = timezone.now() - timedelta(hours=settings.ERP_IDEMPOTENCY_HOURS)
    IdempotencyRecord.objects.filter(token=token, key=key, created_at__lt=expired).delete()
    record, created = IdempotencyRecord.objects.get_or_create(
        token=token, key=key, defaults={"fingerprint": fingerprint}
    )
    if not created:
        if record.fingerprint != fingerprint:
            raise ErpError(
                422,
                "idempotency_key_reused",
                gettext("This Idempotency-Key was used for another request."),
                field="Idempotency-Key",
            )
        if record.status == 0:
            raise ErpError(
                409,
                "idempotency_key_in_use",
                gettext("The first request with this Idempotency-Key is still running."),
                field="Idempotency-Key",
            )
        return record.status, record.body, True
    try:
        with transaction.atomic():
            status, body = run()
            record.status, record.body = status, body
            record.save(update_fields=["status", "body"])
    except BaseException:
        IdempotencyRecord.objects.filter(pk=record.pk).delete()
        raise
    return status, body, False


def idempotency_keys_prune() -> int:
    """Forget the answers of keys older than ``ERP_IDEMPOTENCY_HOURS``."""
    expired = timezone.now() - timedelta(hours=settings.ERP_IDEMPOTENCY_HOURS)
    deleted, _by_model = IdempotencyRecord.objects.filter(created_at__lt=expired).delete()
    return deleted
