"""Orders: placement (frozen from a quote, stock reserved), the status machine,
stock reservations, shipments and the outbox."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol

from django.db import IntegrityError, connection, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext

from catalog.models import Variant
from orders.errors import CheckoutError, NotEnoughStock, OrderError, OrderNotPlaceable, QuoteChanged
from orders.models import (
    STOREFRONT_CHANNEL,
    Cart,
    Order,
    OrderLine,
    OrderStatus,
    OrderStatusChange,
    OutboxEvent,
    Shipment,
    ShipmentLine,
    StockReservation,
    seller_details_of,
)
from orders.quote import CartQuote
from orders.selectors import StockDrift, stock_drift
from pricing.models import StockLevel, StockPool
from pricing.money import quantize, remove_tax
from pricing.selectors import market_pricing
from pricing.services import stock_commit, stock_levels_add, stock_release, stock_reserve
from shipping.selectors import tracking_url
from shop.models import Market, Seller

logger = logging.getLogger(__name__)

NUMBER_SEQUENCE = "orders_order_number_seq"

# Where an order may go from each status. Orders paid on delivery may ship unpaid.
TRANSITIONS: dict[str, frozenset[str]] = {
    OrderStatus.PENDING_PAYMENT: frozenset({OrderStatus.PAID, OrderStatus.CANCELLED}),
    OrderStatus.PAID: frozenset(
        {OrderStatus.PARTIALLY_SHIPPED, OrderStatus.SHIPPED, OrderStatus.CANCELLED}
    ),
    OrderStatus.PARTIALLY_SHIPPED: frozenset({OrderStatus.SHIPPED}),
    OrderStatus.SHIPPED: frozenset({OrderStatus.DELIVERED}),
    OrderStatus.DELIVERED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
}
SHIPPING_UNPAID = frozenset({OrderStatus.PARTIALLY_SHIPPED, OrderStatus.SHIPPED})


def order_number_next() -> str:
    """``KRV-<year>-<six digits>`` from a PostgreSQL sequence: unique, never reused."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(%s)", [NUMBER_SEQUENCE])
        (value,) = cursor.fetchone()
    return f"KRV-{timezone.localdate().year}-{value:06d}"


def order_place(
    *,
    cart: Cart,
    quote: CartQuote,
    payment_method_code: str,
    payment_method_name: str = "",
    pays_on_delivery: bool = False,
    reservation_minutes: int = 15,
    by: str = "shopper",
) -> Order:
    """Freeze ``quote`` into an order and reserve its stock, in one transaction.

    Lines are reserved in variant order (so concurrent orders lock stock rows
    in the same order) with ``pricing.services.stock_reserve``'s conditional
    UPDATE; a line that cannot be reserved raises NotEnoughStock and nothing
    is stored. The cart is marked ordered (with the payment method) and an
    ``order.placed`` event is written to the outbox. ``reservation_minutes``
    ≤ 0: the reservation never expires (cash on delivery).
    """
    if not quote.is_placeable:
        raise OrderNotPlaceable(quote.problems)
    if quote.cart_id != cart.pk or quote.seller is None:
        raise CheckoutError(gettext("This quote is not for this cart."), code="invalid_quote")
    with transaction.atomic():
        locked = (
            Cart.objects.select_for_update().filter(pk=cart.pk).values_list("status", flat=True)
        )
        if not locked or locked[0] != Cart.Status.OPEN:
            raise CheckoutError(gettext("This cart has already been ordered."), code="cart_closed")
        now = timezone.now()
        expires = now + timedelta(minutes=reservation_minutes) if reservation_minutes > 0 else None
        order = Order.objects.create(
            **_order_fields(cart, quote),
            number=order_number_next(),
            payment_method_code=payment_method_code,
            payment_method_name=payment_method_name,
            pays_on_delivery=pays_on_delivery,
            reservation_expires_at=expires,
        )
        lines = OrderLine.objects.bulk_create(
            [
                OrderLine(
                    order=order,
                    variant_id=line.variant_id,
                    sku=line.sku,
                    name=line.name[:250],
                    quantity=line.quantity,
                    unit_net=line.unit.net,
                    unit_tax=line.unit.tax,
                    unit_gross=line.unit.gross,
                    line_net=line.total.net,
                    line_tax=line.total.tax,
                    line_gross=line.total.gross,
                    tax_rate=line.tax_rate,
                    tax_category=line.tax_category,
                    hs_code=line.hs_code,
                    origin_country=line.origin_country,
                    ship_from_pool_id=line.ship_from_pool_id,
                    ship_from_country=line.ship_from_country,
                    weight_grams=line.weight_grams,
                )
                for line in quote.lines
            ]
        )
        _reserve(order, lines, quote, expires)
        _record(order, "", OrderStatus.PENDING_PAYMENT, by, gettext("Order placed."))
        outbox_write(kind="order.placed", order=order, payload={"number": order.number})
        Cart.objects.filter(pk=cart.pk).update(
            status=Cart.Status.ORDERED, payment_method_code=payment_method_code, updated_at=now
        )
        cart.status = Cart.Status.ORDERED
        cart.payment_method_code = payment_method_code
    return order


def _order_fields(cart: Cart, quote: CartQuote) -> dict[str, object]:
    address = {
        "first_name": cart.first_name,
        "last_name": cart.last_name,
        "company": cart.company,
        "line1": cart.line1,
        "line2": cart.line2,
        "city": cart.city,
        "district": cart.district,
        "postal_code": cart.postal_code,
        "region_code": cart.region_code,
        "country": cart.country_id or "",
    }
    fields: dict[str, object] = {f"shipping_{key}": value for key, value in address.items()}
    fields.update({f"billing_{key}": value for key, value in address.items()})
    shipping, fee, duty = quote.shipping, quote.payment_fee, quote.duty
    assert quote.seller is not None
    seller = cart.pricing_market.seller
    if seller is None or seller.pk != quote.seller.id:
        seller = Seller.objects.get(pk=quote.seller.id)
    fields.update(
        market_id=quote.market_id,
        seller_id=quote.seller.id,
        language=quote.language,
        currency=quote.currency,
        exchange_rate=quote.exchange_rate,  # None when no rate is known: never a made-up 1
        seller_details=seller_details_of(seller),
        prices_include_tax=quote.prices_include_tax,
        customer_id=cart.customer_id,
        cart=cart,
        email=cart.email,
        phone=cart.phone,
        vat_number=quote.vat_number or cart.vat_number,
        tax_notes="\n".join(quote.tax_notes),
        reverse_charge=quote.reverse_charge,
        export=quote.export,
        duty_mode=duty.mode,
        duty_amount=duty.charged,
        duty_notice=duty.notice,
        subtotal_net=quote.subtotal.net,
        subtotal_tax=quote.subtotal.tax,
        subtotal_gross=quote.subtotal.gross,
        total_net=quote.total.net,
        total_tax=quote.total.tax,
        total_gross=quote.total.gross,
    )
    if shipping is not None:
        fields.update(
            shipping_method_id=shipping.method_id,
            shipping_method_name=shipping.name,
            shipping_carrier=shipping.carrier,
            shipping_net=shipping.amounts.net,
            shipping_tax=shipping.amounts.tax,
            shipping_gross=shipping.amounts.gross,
            shipping_tax_rate=shipping.tax_rate,
            shipping_tax_category=shipping.tax_category,
        )
    if fee is not None:
        fields.update(
            payment_fee_net=fee.amounts.net,
            payment_fee_tax=fee.amounts.tax,
            payment_fee_gross=fee.amounts.gross,
            payment_fee_tax_rate=fee.tax_rate,
            payment_fee_tax_category=fee.tax_category,
        )
    return fields


def _reserve(
    order: Order, lines: list[OrderLine], quote: CartQuote, expires: datetime | None
) -> None:

    pool_ids = market_pricing(quote.market_id).pool_ids
    allows_backorder = dict(
        Variant.objects.filter(pk__in=[line.variant_id for line in lines]).values_list(
            "pk", "allows_backorder"
        )
    )
    quoted = {line.line_id: line for line in quote.lines}
    reservations = []
    for line, quote_line in sorted(
        zip(lines, quote.lines, strict=True), key=lambda pair: pair[0].variant_id or 0
    ):
        assert line.variant_id is not None
        preferred = quote_line.ship_from_pool_id
        order_of_pools = [preferred] if preferred else []
        order_of_pools += [pool for pool in pool_ids if pool != preferred]
        pool = stock_reserve(
            variant_id=line.variant_id, pool_ids=order_of_pools, quantity=line.quantity
        )
        if pool is None:
            if allows_backorder.get(line.variant_id):
                continue
            raise NotEnoughStock(sku=line.sku, requested=line.quantity)
        if pool != preferred:
            country = StockPool.objects.filter(pk=pool).values_list("country_id", flat=True).first()
            if (country or "") != quoted[quote_line.line_id].ship_from_country:
                # Another pool across a different border: duty and tax may differ.
                raise QuoteChanged(
                    expected=quote.total.gross,
                    actual=None,
                    currency=quote.currency,
                    message=gettext(
                        "%(sku)s now ships from another warehouse; please review your order."
                    )
                    % {"sku": line.sku},
                )
            OrderLine.objects.filter(pk=line.pk).update(ship_from_pool_id=pool)
        reservations.append(
            StockReservation(
                order_line=line,
                variant_id=line.variant_id,
                pool_id=pool,
                quantity=line.quantity,
                expires_at=expires,
            )
        )
    StockReservation.objects.bulk_create(reservations)


def _record(order: Order, from_status: str, to_status: str, by: str, note: str = "") -> None:
    OrderStatusChange.objects.create(
        order=order, from_status=from_status, to_status=to_status, by=by[:150], note=note[:300]
    )


def _lock(order: Order) -> Order:
    """The order's row locked for this transaction, with fresh values."""
    locked = Order.objects.select_for_update().get(pk=order.pk)
    order.status, order.paid_at = locked.status, locked.paid_at
    return locked


def order_transition(*, order: Order, to: str, by: str, note: str = "") -> Order:
    """Move the order to status ``to``; illegal moves raise OrderError and change nothing."""
    with transaction.atomic():
        locked = _lock(order)
        _transition(locked, to, by, note)
    order.status = locked.status
    return order


def _transition(order: Order, to: str, by: str, note: str = "") -> None:
    current = order.status
    allowed = TRANSITIONS.get(current, frozenset())
    if order.pays_on_delivery and current == OrderStatus.PENDING_PAYMENT:
        allowed = allowed | SHIPPING_UNPAID
    if to not in allowed:
        raise OrderError(
            "illegal_transition",
            gettext("Order %(number)s cannot go from %(from)s to %(to)s.")
            % {
                "number": order.number,
                "from": OrderStatus(current).label,
                "to": OrderStatus(to).label if to in OrderStatus.values else to,
            },
        )
    order.status = to
    order.save(update_fields=["status", "updated_at"])
    _record(order, current, to, by, note)


def order_mark_paid(*, order: Order, by: str, note: str = "") -> bool:
    """Record that the order is paid: its reservations are committed (stock sold).

    Idempotent: an order already paid is left as it is (returns False).
    A cancelled order cannot be paid (OrderError).
    """
    with transaction.atomic():
        locked = _lock(order)
        if locked.paid_at is not None:
            return False
        if locked.status == OrderStatus.CANCELLED:
            raise OrderError(
                "order_cancelled",
                gettext("Order %(number)s is cancelled; it cannot be paid.")
                % {"number": locked.number},
            )
        locked.paid_at = timezone.now()
        locked.reservation_expires_at = None
        locked.save(update_fields=["paid_at", "reservation_expires_at", "updated_at"])
        if locked.status == OrderStatus.PENDING_PAYMENT:
            _transition(locked, OrderStatus.PAID, by, note)
        else:
            _record(locked, locked.status, locked.status, by, note or gettext("Payment received."))
        reservations_commit(order=locked)
        outbox_write(kind="order.paid", order=locked, payload={"number": locked.number})
    order.status, order.paid_at = locked.status, locked.paid_at
    return True


def order_cancel(*, order: Order, by: str, note: str = "") -> Order:
    """Cancel an unpaid or paid (not yet shipped) order; its stock goes back."""
    with transaction.atomic():
        locked = _lock(order)
        _transition(locked, OrderStatus.CANCELLED, by, note)
        for reservation in _reservations(locked):
            reservation_release(reservation=reservation)
        outbox_write(kind="order.cancelled", order=locked, payload={"number": locked.number})
    order.status = locked.status
    return order


def order_line_restock(*, line: OrderLine, quantity: int) -> int:
    """Put ``quantity`` sold units of ``line`` back into the pool they were sold from
    (a return after a refund). Returns the units put back (0 for a line without a
    variant or pool any more)."""
    if quantity <= 0 or line.variant_id is None:
        return 0
    pool_id = line.ship_from_pool_id or (
        StockReservation.objects.filter(order_line=line)
        .order_by("pk")
        .values_list("pool_id", flat=True)
        .first()
    )
    if pool_id is None:
        return 0
    levels = StockLevel.objects.filter(variant_id=line.variant_id, pool_id=pool_id)
    return quantity if stock_levels_add(levels, units=quantity) else 0


def order_deliver(*, order: Order, by: str, note: str = "") -> Order:
    return order_transition(order=order, to=OrderStatus.DELIVERED, by=by, note=note)


def _reservations(order: Order) -> list[StockReservation]:
    return list(
        StockReservation.objects.filter(order_line__order=order).order_by(
            "variant_id", "pool_id", "pk"
        )
    )


def reservations_commit(*, order: Order) -> int:
    """Commit the order's open reservations (quantity and reserved go down). Returns how many."""

    committed = 0
    for reservation in _reservations(order):
        switched = StockReservation.objects.filter(
            pk=reservation.pk, state=StockReservation.State.OPEN
        ).update(state=StockReservation.State.COMMITTED, closed_at=timezone.now())
        if switched:
            if not stock_commit(
                variant_id=reservation.variant_id,
                pool_id=reservation.pool_id,
                quantity=reservation.quantity,
            ):
                logger.error(
                    "Stock level of variant %s in pool %s did not hold reservation %s",
                    reservation.variant_id,
                    reservation.pool_id,
                    reservation.pk,
                )
            committed += 1
    return committed


def reservation_release(*, reservation: StockReservation) -> bool:
    """Give a reservation's units back; releasing twice is a no-op (returns False).

    An open reservation frees its reserved units; a committed one (the order
    was paid, then cancelled) puts the units back into the pool.
    """

    state = (
        StockReservation.objects.filter(pk=reservation.pk).values_list("state", flat=True).first()
    )
    if state is None or state == StockReservation.State.RELEASED:
        return False
    switched = StockReservation.objects.filter(pk=reservation.pk, state=state).update(
        state=StockReservation.State.RELEASED, closed_at=timezone.now()
    )
    if not switched:  # another transaction released or committed it first
        return False
    if state == StockReservation.State.OPEN:
        stock_release(
            variant_id=reservation.variant_id,
            pool_id=reservation.pool_id,
            quantity=reservation.quantity,
        )
    else:
        stock_levels_add(
            StockLevel.objects.filter(
                variant_id=reservation.variant_id, pool_id=reservation.pool_id
            ),
            units=reservation.quantity,
        )
    reservation.state = StockReservation.State.RELEASED
    return True


class ExpiryCancel(Protocol):
    def __call__(self, *, order: Order, by: str, note: str = "") -> object: ...


_EXPIRY_CANCEL: dict[str, ExpiryCancel] = {}


def order_expiry_cancel_register(cancel: ExpiryCancel) -> None:
    """Set what cancels an order that was not paid in time (``order_cancel`` until then).

    ``payments`` registers ``order_payment_cancel`` when its app is ready, so an
    expired order's payments are cancelled with it (orders cannot import payments).
    """
    _EXPIRY_CANCEL["cancel"] = cancel


def orders_expire(*, now: datetime | None = None) -> list[str]:
    """Cancel unpaid orders whose reservations expired, with the registered cancel
    (``order_expiry_cancel_register``); returns their numbers."""
    cancel = _EXPIRY_CANCEL.get("cancel", order_cancel)
    now = now or timezone.now()
    candidates = list(
        Order.objects.filter(
            status=OrderStatus.PENDING_PAYMENT,
            paid_at__isnull=True,
            reservation_expires_at__lt=now,
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:500]
    )
    expired = []
    for order_id in candidates:
        with transaction.atomic():
            order = (
                Order.objects.select_for_update(skip_locked=True)
                .filter(
                    pk=order_id,
                    status=OrderStatus.PENDING_PAYMENT,
                    paid_at__isnull=True,
                    reservation_expires_at__lt=now,
                )
                .first()
            )
            if order is None:
                continue
            try:
                cancel(order=order, by="system", note=gettext("Not paid in time."))
            except (OrderError, CheckoutError) as error:
                # E.g. the card processor is unreachable: this order waits for the next run.
                logger.warning("Order %s did not expire: %s", order.number, error)
                continue
            order.refresh_from_db(fields=["status"])
            if order.status == OrderStatus.CANCELLED:
                expired.append(order.number)
    return expired


def shipment_create(
    *,
    order: Order,
    lines: Mapping[int, int],
    method_id: int | None,
    tracking_number: str,
    by: str,
    carrier: str = "",
) -> Shipment:
    """Ship some quantities of the order's lines; the order becomes (partially) shipped.

    Quantities must be positive and at most what is left to ship of each line.
    """
    with transaction.atomic():
        locked = _lock(order)
        shippable = {OrderStatus.PAID, OrderStatus.PARTIALLY_SHIPPED}
        if locked.pays_on_delivery:
            shippable.add(OrderStatus.PENDING_PAYMENT)
        if locked.status not in shippable:
            raise OrderError(
                "not_shippable",
                gettext("Order %(number)s cannot be shipped while it is %(status)s.")
                % {"number": locked.number, "status": OrderStatus(locked.status).label},
            )
        remaining = order_remaining_to_ship(locked)
        wanted = {line_id: quantity for line_id, quantity in lines.items() if quantity}
        if not wanted:
            raise OrderError("empty_shipment", gettext("Choose at least one line to ship."))
        for line_id, quantity in wanted.items():
            if line_id not in remaining:
                raise OrderError(
                    "unknown_line",
                    gettext("Line %(line)s is not in this order.") % {"line": line_id},
                )
            if not isinstance(quantity, int) or quantity < 0 or quantity > remaining[line_id]:
                raise OrderError(
                    "invalid_quantity",
                    gettext("Line %(line)s has %(left)s units left to ship.")
                    % {"line": line_id, "left": remaining[line_id]},
                )
        tracking_number = tracking_number.strip()[:100]
        url = ""
        if method_id is not None and tracking_number:
            url = tracking_url(method_id=method_id, tracking_number=tracking_number)
        if not carrier and method_id == locked.shipping_method_id:
            carrier = locked.shipping_carrier
        shipment = Shipment.objects.create(
            order=locked,
            shipping_method_id=method_id,
            carrier=carrier[:100],
            tracking_number=tracking_number,
            tracking_url=url[:500],
            shipped_at=timezone.now(),
            created_by=by[:150],
        )
        ShipmentLine.objects.bulk_create(
            [
                ShipmentLine(shipment=shipment, order_line_id=line_id, quantity=quantity)
                for line_id, quantity in sorted(wanted.items())
            ]
        )
        # The goods have left: what an order paid on delivery holds is sold now.
        reservations_commit(order=locked)
        fully = all(remaining[line_id] == wanted.get(line_id, 0) for line_id in remaining)
        target = OrderStatus.SHIPPED if fully else OrderStatus.PARTIALLY_SHIPPED
        if target != locked.status:
            _transition(locked, target, by, gettext("Shipment %(id)s.") % {"id": shipment.pk})
        outbox_write(
            kind="order.shipped",
            order=locked,
            payload={"number": locked.number, "shipment": shipment.pk, "complete": fully},
        )
    order.status = locked.status
    return shipment


def order_remaining_to_ship(order: Order) -> dict[int, int]:
    """Line id → units not shipped yet."""

    shipped = dict(
        ShipmentLine.objects.filter(order_line__order=order)
        .values("order_line_id")
        .annotate(units=Sum("quantity"))
        .values_list("order_line_id", "units")
    )
    return {
        line_id: quantity - int(shipped.get(line_id, 0))
        for line_id, quantity in order.lines.values_list("pk", "quantity")
    }


def outbox_write(*, kind: str, order: Order | None, payload: dict[str, object]) -> OutboxEvent:
    """Record work to do after the commit, in the caller's transaction."""
    return OutboxEvent.objects.create(kind=kind, order=order, payload=payload)


class OutboxHandler(Protocol):
    def __call__(self, event: OutboxEvent) -> None: ...


_OUTBOX_HANDLERS: list[OutboxHandler] = []


def outbox_handler_register(handler: OutboxHandler) -> None:
    """Hand every outbox event to ``handler`` too (an app above orders registers its
    e-mails or webhooks when it is ready; orders cannot import it)."""
    if handler not in _OUTBOX_HANDLERS:
        _OUTBOX_HANDLERS.append(handler)


def outbox_drain(*, limit: int = 100) -> int:
    """Hand pending outbox events to the registered handlers and mark them processed.

    Rows are locked with SKIP LOCKED, so several workers can drain at once. An
    event a handler fails on (e.g. the broker is down) keeps its error and is
    tried again by the next drain. Returns how many were processed.
    """
    done = 0
    with transaction.atomic():
        events = list(
            OutboxEvent.objects.select_for_update(skip_locked=True)
            .filter(processed_at__isnull=True)
            .order_by("pk")[:limit]
        )
        for event in events:
            event.attempts += 1
            try:
                with transaction.atomic():
                    for handler in _OUTBOX_HANDLERS:
                        handler(event)
            except Exception as error:  # any handler's failure: keep the event for later
                logger.warning("Outbox event %s %s failed: %s", event.pk, event.kind, error)
                event.last_error = f"{type(error).__name__}: {error}"[:2000]
                event.save(update_fields=["attempts", "last_error"])
                continue
            logger.info("Outbox event %s %s: %s", event.pk, event.kind, event.payload)
            event.processed_at = timezone.now()
            event.last_error = ""
            event.save(update_fields=["attempts", "processed_at", "last_error"])
            done += 1
    return done


def stock_reconcile(*, fix: bool = False) -> list[StockDrift]:
    """Stock levels whose ``reserved`` is not the sum of their open reservations.

    With ``fix``, each is corrected through pricing's conditional updates
    (release the excess, reserve what is missing); a level that cannot hold
    its open reservations any more stays in the returned list.
    """
    drifts = stock_drift()
    if not fix:
        return drifts

    return [drift for drift in drifts if not stock_drift_fix(drift=drift)]


def stock_drift_fix(*, drift: StockDrift) -> bool:
    """Correct one drifted stock level; False when it cannot hold its open reservations.

    The level is locked and its drift measured again under the lock, so ``drift``
    may be stale: two runs at once correct it once, not twice.
    """
    if drift.level_id == 0:
        return False
    with transaction.atomic():
        reserved = (
            StockLevel.objects.select_for_update()
            .filter(pk=drift.level_id)
            .values_list("reserved", flat=True)
            .first()
        )
        if reserved is None:
            return True
        open_total = StockReservation.objects.filter(
            state=StockReservation.State.OPEN, variant_id=drift.variant_id, pool_id=drift.pool_id
        ).aggregate(total=Sum("quantity"))["total"]
        difference = reserved - (open_total or 0)
        if difference > 0:
            stock_release(variant_id=drift.variant_id, pool_id=drift.pool_id, quantity=difference)
        elif difference < 0:
            return (
                stock_reserve(
                    variant_id=drift.variant_id, pool_ids=[drift.pool_id], quantity=-difference
                )
                is not None
            )
    return True


# Orders placed elsewhere (marketplaces)


@dataclass(frozen=True, slots=True)
class ImportedLine:
    """A line of an order placed in another channel, at the channel's price (gross)."""

    variant_id: int
    quantity: int
    unit_gross: Decimal
    tax_rate: Decimal
    name: str = ""


@dataclass(frozen=True, slots=True)
class ImportedOrder:
    """An order placed in another channel (a marketplace), ready to be imported.

    ``shipping_address`` (and ``billing_address``, the shipping one when
    empty) use the keys of a cart's address: first_name, last_name, company,
    line1, line2, city, district, postal_code, region_code, country.
    """

    channel: str
    external_reference: str
    market_id: int
    currency: str
    email: str
    shipping_address: Mapping[str, str]
    lines: tuple[ImportedLine, ...]
    billing_address: Mapping[str, str] | None = None
    phone: str = ""
    shipping_gross: Decimal = Decimal(0)
    shipping_tax_rate: Decimal = Decimal(0)
    payment_method_name: str = ""
    is_paid: bool = True


ADDRESS_KEYS = (
    "first_name",
    "last_name",
    "company",
    "line1",
    "line2",
    "city",
    "district",
    "postal_code",
    "region_code",
    "country",
)
ADDRESS_LIMITS = {"first_name": 100, "last_name": 100, "company": 150, "line1": 200}
ADDRESS_LIMITS |= {"line2": 200, "city": 100, "district": 100, "postal_code": 20}
ADDRESS_LIMITS |= {"region_code": 10, "country": 2}


def order_import(*, imported: ImportedOrder, by: str) -> tuple[Order, bool]:
    """Store an order another channel took, reserving its stock like any order.

    Returns ``(order, created)``: an order already imported from the same
    channel and reference is returned as it is (``created`` False), also when
    two imports race (the unique constraint decides, the loser reads the
    winner's order). Prices are the channel's, frozen as given (gross, with
    the tax part taken out at each line's rate). Stock is reserved in
    variant order with the same conditional UPDATE as ``order_place`` and
    held until the order ships (no expiry); a line that cannot be reserved
    raises NotEnoughStock and nothing is stored. Bad input raises OrderError
    and nothing is stored. A paid order (marketplaces collect the payment)
    is PAID at once; an ``order.imported`` event goes to the outbox.
    """
    existing = _imported_order(imported)
    if existing is not None:
        return existing, False
    _import_check(imported)
    try:
        with transaction.atomic():
            order = _import_store(imported, by)
    except IntegrityError:
        existing = _imported_order(imported)
        if existing is None:
            raise
        return existing, False
    return order, True


def _imported_order(imported: ImportedOrder) -> Order | None:
    return Order.objects.filter(
        channel=imported.channel, external_reference=imported.external_reference
    ).first()


def _import_check(imported: ImportedOrder) -> None:
    def refuse(code: str, message: str) -> OrderError:
        return OrderError(code, message)

    if not imported.channel or imported.channel == STOREFRONT_CHANNEL:
        raise refuse("invalid_channel", gettext("An imported order needs its channel."))
    if not imported.external_reference.strip():
        raise refuse("invalid_reference", gettext("An imported order needs its reference."))
    if not imported.lines:
        raise refuse("empty_order", gettext("An imported order needs at least one line."))
    for line in imported.lines:
        if line.quantity <= 0:
            raise refuse("invalid_quantity", gettext("Every line needs a positive quantity."))
        if line.unit_gross < 0 or line.tax_rate < 0:
            raise refuse("invalid_price", gettext("Prices and tax rates cannot be negative."))
    if imported.shipping_gross < 0:
        raise refuse("invalid_price", gettext("Prices and tax rates cannot be negative."))
    if not (imported.shipping_address.get("country") or "").strip():
        raise refuse("invalid_address", gettext("The shipping address needs a country."))


def _import_store(imported: ImportedOrder, by: str) -> Order:
    market = Market.objects.select_related("seller").filter(pk=imported.market_id).first()
    if market is None or market.seller is None:
        raise OrderError("no_seller", gettext("This market has no seller: it cannot take orders."))
    currency = imported.currency.upper()
    if currency != market.currency:
        raise OrderError(
            "invalid_currency",
            gettext("The order is in %(given)s; the market sells in %(currency)s.")
            % {"given": currency, "currency": market.currency},
        )
    variants = {
        variant.pk: variant
        for variant in Variant.objects.select_related("product").filter(
            pk__in=[line.variant_id for line in imported.lines]
        )
    }
    missing = [line.variant_id for line in imported.lines if line.variant_id not in variants]
    if missing:
        raise OrderError(
            "unknown_variant",
            gettext("No such variant: %(ids)s.") % {"ids": ", ".join(map(str, missing))},
        )
    shipping = _address(imported.shipping_address)
    billing = _address(imported.billing_address or imported.shipping_address)
    priced = [_imported_amounts(line, currency) for line in imported.lines]
    shipping_gross = quantize(imported.shipping_gross, currency)
    shipping_net = quantize(remove_tax(shipping_gross, imported.shipping_tax_rate), currency)
    subtotal_net = sum((amounts[3] for amounts in priced), Decimal(0))
    subtotal_gross = sum((amounts[5] for amounts in priced), Decimal(0))
    now = timezone.now()
    order = Order.objects.create(
        number=order_number_next(),
        channel=imported.channel[:40],
        external_reference=imported.external_reference.strip()[:100],
        status=OrderStatus.PAID if imported.is_paid else OrderStatus.PENDING_PAYMENT,
        paid_at=now if imported.is_paid else None,
        market=market,
        seller=market.seller,
        language=market.default_language,
        currency=currency,
        seller_details=seller_details_of(market.seller),
        prices_include_tax=True,
        email=imported.email[:254],
        phone=imported.phone[:40],
        payment_method_code=imported.channel[:40],
        payment_method_name=(imported.payment_method_name or imported.channel)[:150],
        shipping_net=shipping_net,
        shipping_tax=shipping_gross - shipping_net,
        shipping_gross=shipping_gross,
        shipping_tax_rate=imported.shipping_tax_rate,
        subtotal_net=subtotal_net,
        subtotal_tax=subtotal_gross - subtotal_net,
        subtotal_gross=subtotal_gross,
        total_net=subtotal_net + shipping_net,
        total_tax=subtotal_gross - subtotal_net + shipping_gross - shipping_net,
        total_gross=subtotal_gross + shipping_gross,
        **{f"shipping_{key}": value for key, value in shipping.items()},
        **{f"billing_{key}": value for key, value in billing.items()},
    )
    lines = OrderLine.objects.bulk_create(
        [
            OrderLine(
                order=order,
                variant_id=line.variant_id,
                sku=variants[line.variant_id].sku,
                name=(line.name or variants[line.variant_id].sku)[:250],
                quantity=line.quantity,
                unit_net=unit_net,
                unit_tax=unit_gross - unit_net,
                unit_gross=unit_gross,
                line_net=line_net,
                line_tax=line_gross - line_net,
                line_gross=line_gross,
                tax_rate=line.tax_rate,
                hs_code=variants[line.variant_id].product.hs_code,
                weight_grams=variants[line.variant_id].weight or 0,
            )
            for line, (unit_gross, unit_net, _tax, line_net, _line_tax, line_gross) in zip(
                imported.lines, priced, strict=True
            )
        ]
    )
    _import_reserve(order, lines, variants)
    _record(
        order,
        "",
        order.status,
        by,
        gettext("Imported from %(channel)s (%(reference)s).")
        % {"channel": order.channel, "reference": order.external_reference},
    )
    outbox_write(
        kind="order.imported",
        order=order,
        payload={"number": order.number, "channel": order.channel},
    )
    return order


def _address(given: Mapping[str, str]) -> dict[str, str]:
    address = {key: str(given.get(key) or "").strip() for key in ADDRESS_KEYS}
    address["country"] = address["country"].upper()
    return {key: value[: ADDRESS_LIMITS[key]] for key, value in address.items()}


def _imported_amounts(
    line: ImportedLine, currency: str
) -> tuple[Decimal, Decimal, Decimal, Decimal, Decimal, Decimal]:
    """(unit gross, unit net, unit tax, line net, line tax, line gross) of a gross price."""
    unit_gross = quantize(line.unit_gross, currency)
    unit_net = quantize(remove_tax(unit_gross, line.tax_rate), currency)
    line_gross = unit_gross * line.quantity
    line_net = quantize(remove_tax(line_gross, line.tax_rate), currency)
    return unit_gross, unit_net, unit_gross - unit_net, line_net, line_gross - line_net, line_gross


def _import_reserve(order: Order, lines: list[OrderLine], variants: Mapping[int, Variant]) -> None:
    """Reserve each line from the market's pools, in variant order (see ``_reserve``)."""
    pool_ids = market_pricing(order.market_id).pool_ids
    countries = dict(StockPool.objects.filter(pk__in=pool_ids).values_list("pk", "country_id"))
    reservations = []
    for line in sorted(lines, key=lambda line: line.variant_id or 0):
        assert line.variant_id is not None
        pool = stock_reserve(variant_id=line.variant_id, pool_ids=pool_ids, quantity=line.quantity)
        if pool is None:
            if variants[line.variant_id].allows_backorder:
                continue
            raise NotEnoughStock(sku=line.sku, requested=line.quantity)
        OrderLine.objects.filter(pk=line.pk).update(
            ship_from_pool_id=pool, ship_from_country=countries.get(pool) or ""
        )
        reservations.append(
            StockReservation(
                order_line=line,
                variant_id=line.variant_id,
                pool_id=pool,
                quantity=line.quantity,
                expires_at=None,
            )
        )
    StockReservation.objects.bulk_create(reservations)
