"""Writes of prices and stock. Derived lists follow every price change."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog.models import Variant
from catalog.services import variants_changed
from pricing.derivation import RebuildReport, price_list_rebuild
from pricing.models import (
    MarketPriceList,
    MarketStockPool,
    PriceEntry,
    PriceList,
    StockLevel,
    validate_price_positive,
)
from pricing.selectors import pricing_config_changed
from shop import versions


def price_amounts_check(
    *,
    amount: Decimal,
    compare_at_amount: Decimal | None = None,
    sale_amount: Decimal | None = None,
    sale_starts_at: datetime | None = None,
    sale_ends_at: datetime | None = None,
) -> None:
    """Raise ``ValidationError`` (messages by field) unless these amounts make a valid price."""
    errors: dict[str, list[ValidationError]] = {}
    for name, value in (
        ("amount", amount),
        ("compare_at_amount", compare_at_amount),
        ("sale_amount", sale_amount),
    ):
        if value is None and name != "amount":
            continue
        try:
            if value is None:
                raise ValidationError(_("Enter a price."), code="required")
            validate_price_positive(value)
        except ValidationError as error:
            errors[name] = [error]
    if sale_starts_at and sale_ends_at and sale_ends_at <= sale_starts_at:
        errors["sale_ends_at"] = [ValidationError(_("The sale must end after it starts."))]
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def price_set(
    *,
    price_list: PriceList,
    variant_id: int,
    amount: Decimal,
    compare_at_amount: Decimal | None = None,
    sale_amount: Decimal | None = None,
    sale_starts_at: datetime | None = None,
    sale_ends_at: datetime | None = None,
) -> PriceEntry:
    """Set a variant's price by hand; lists derived from this one are recomputed for it.

    Raises ``ValidationError`` for a price, sale or compare-at price of zero
    or less (nothing is changed then).
    """
    price_amounts_check(
        amount=amount,
        compare_at_amount=compare_at_amount,
        sale_amount=sale_amount,
        sale_starts_at=sale_starts_at,
        sale_ends_at=sale_ends_at,
    )
    entry, _created = PriceEntry.objects.update_or_create(
        price_list=price_list,
        variant_id=variant_id,
        defaults={
            "amount": amount,
            "compare_at_amount": compare_at_amount,
            "sale_amount": sale_amount,
            "sale_starts_at": sale_starts_at,
            "sale_ends_at": sale_ends_at,
            "is_manual": True,
        },
    )
    versions.retire(versions.price_list(price_list.pk))
    variants_changed([variant_id], source=f"price-list:{price_list.pk}")
    derived_follow(price_list, variant_ids=[variant_id])
    return entry


@transaction.atomic
def price_unset(*, price_list: PriceList, variant_id: int) -> None:
    """Remove a price; on a derived list the rule's price comes back."""
    PriceEntry.objects.filter(price_list=price_list, variant_id=variant_id).delete()
    versions.retire(versions.price_list(price_list.pk))
    variants_changed([variant_id], source=f"price-list:{price_list.pk}")
    if price_list.is_derived:
        price_list_rebuild(price_list, variant_ids=[variant_id])
    else:
        derived_follow(price_list, variant_ids=[variant_id])


def derived_follow(
    price_list: PriceList, *, variant_ids: list[int] | None = None
) -> list[RebuildReport]:
    """Recompute the lists derived from ``price_list`` (for ``variant_ids``, or all)."""
    return [
        price_list_rebuild(follower, variant_ids=variant_ids)
        for follower in price_list.derived_lists.select_related("source").order_by("code")
    ]


def market_price_list_assign(
    *, market_id: int, price_list: PriceList, customer_group_id: int | None = None
) -> MarketPriceList:
    """Make ``price_list`` the market's retail list, or a customer group's list there."""
    link, _created = MarketPriceList.objects.update_or_create(
        market_id=market_id,
        customer_group_id=customer_group_id,
        defaults={"price_list": price_list},
    )
    pricing_config_changed()
    return link


def market_price_lists_unassign(links: QuerySet[MarketPriceList]) -> int:
    """Stop markets from pricing with these lists (e.g. a group's list). Returns how many."""
    removed, _by_model = links.delete()
    pricing_config_changed()
    return removed


@transaction.atomic
def market_stock_pools_set(*, market_id: int, pool_ids: list[int]) -> None:
    """The pools a market sells from, in order."""
    pricing_config_changed()
    MarketStockPool.objects.filter(market_id=market_id).exclude(pool_id__in=pool_ids).delete()
    for position, pool_id in enumerate(pool_ids):
        MarketStockPool.objects.update_or_create(
            market_id=market_id, pool_id=pool_id, defaults={"position": position}
        )


def stock_set(*, variant: Variant, pool_id: int, quantity: int) -> StockLevel:
    """Set the quantity a pool holds (reservations are kept)."""
    level, _created = StockLevel.objects.get_or_create(variant=variant, pool_id=pool_id)
    level.quantity = quantity
    level.save(update_fields=["quantity", "allows_backorder", "updated_at"])
    stock_changed([variant.pk], pool_id=pool_id)
    return level


@transaction.atomic
def stock_levels_zero(levels: QuerySet[StockLevel]) -> tuple[int, int]:
    """Set quantities to zero in SQL; rows holding reservations without backorder keep theirs.

    Returns (changed, kept).
    """
    held_for_orders = Q(reserved__gt=0, allows_backorder=False)
    kept = levels.filter(held_for_orders).count()
    variant_ids = list(levels.values_list("variant_id", flat=True))
    changed = levels.exclude(held_for_orders).update(quantity=0, updated_at=timezone.now())
    # After the UPDATE: the change listeners read the new quantities.
    stock_changed(variant_ids)
    return changed, kept


@transaction.atomic
def stock_levels_add(levels: QuerySet[StockLevel], *, units: int) -> int:
    """Add ``units`` to every level in one UPDATE (no read-then-write)."""
    variant_ids = list(levels.values_list("variant_id", flat=True))
    changed = levels.update(quantity=F("quantity") + units, updated_at=timezone.now())
    stock_changed(variant_ids)  # after the UPDATE, as above
    return changed


def _variants_exist(cursor: CursorWrapper, variant_ids: list[int]) -> None:
    """Raise ValidationError naming the first ids that are no variant (one query)."""
    cursor.execute(
        "SELECT id FROM unnest(%s::bigint[]) AS given(id) "
        "WHERE NOT EXISTS (SELECT 1 FROM catalog_variant v WHERE v.id = given.id)",
        [variant_ids],
    )
    unknown = [variant_id for (variant_id,) in cursor.fetchall()]
    if unknown:
        raise ValidationError(
            _("No such variant: %(ids)s.") % {"ids": ", ".join(map(str, unknown[:10]))}
        )


@transaction.atomic
def stock_quantities_set(*, pool_id: int, quantities: Mapping[int, int]) -> int:
    """Set how many units of each variant (id → quantity) ``pool_id`` holds: an import.

    One statement for any number of rows; levels missing are created. Raises
    ``ValidationError`` (and changes nothing) for a negative quantity, an
    unknown variant, or a quantity below what open orders have reserved of a
    variant sold without backorder. Returns the number of levels written.
    """
    variant_ids = sorted(quantities)
    if not variant_ids:
        return 0
    negative = [variant_id for variant_id in variant_ids if quantities[variant_id] < 0]
    if negative:
        raise ValidationError(
            _("A quantity cannot be negative (variant %(ids)s).")
            % {"ids": ", ".join(map(str, negative[:10]))}
        )
    with connection.cursor() as cursor:
        _variants_exist(cursor, variant_ids)
        cursor.execute(
            "SELECT variant_id, reserved FROM pricing_stocklevel WHERE pool_id = %s "
            "AND variant_id = ANY(%s::bigint[]) AND NOT allows_backorder AND reserved > 0",
            [pool_id, variant_ids],
        )
        short = cursor.fetchall()
    below = [variant_id for variant_id, reserved in short if quantities[variant_id] < reserved]
    if below:
        raise ValidationError(
            _("Orders have reserved more units than the new quantity (variant %(ids)s).")
            % {"ids": ", ".join(map(str, below[:10]))}
        )
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO pricing_stocklevel
                (variant_id, pool_id, quantity, reserved, allows_backorder, updated_at)
            SELECT v.id, %s, new.quantity, 0, v.allows_backorder, now()
            FROM unnest(%s::bigint[], %s::integer[]) AS new(variant_id, quantity)
            JOIN catalog_variant v ON v.id = new.variant_id
            ON CONFLICT (variant_id, pool_id) DO UPDATE
                SET quantity = EXCLUDED.quantity, updated_at = EXCLUDED.updated_at
                WHERE pricing_stocklevel.quantity IS DISTINCT FROM EXCLUDED.quantity
            """,
            [pool_id, variant_ids, [quantities[variant_id] for variant_id in variant_ids]],
        )
        written = cursor.rowcount
    stock_changed(variant_ids, pool_id=pool_id)
    return written


def stock_reserve(*, variant_id: int, pool_ids: Sequence[int], quantity: int) -> int | None:
    """Reserve ``quantity`` units from the first pool (in the market's order) that has them.

    One conditional UPDATE per pool tried, never read-then-write: of two
    shoppers racing for the last unit exactly one gets it. Returns the pool's
    id, or None when no single pool has enough (nothing is reserved then).
    """
    if quantity <= 0:
        raise ValueError("quantity must be positive")
    for pool_id in pool_ids:
        # One statement: atomic on its own, and matching no row is not an error.
        free = _stock_update(
            "reserved = reserved + %s",
            "quantity >= reserved + %s",
            variant_id=variant_id,
            pool_id=pool_id,
            quantity=quantity,
        )
        if free is not None:
            # Listings change only when the pool runs out.
            stock_changed([variant_id], listing=free == 0, pool_id=pool_id)
            return pool_id
    return None


def stock_release(*, variant_id: int, pool_id: int, quantity: int) -> None:
    """Give back reserved units (an expired or cancelled reservation)."""
    free = _stock_update(
        "reserved = reserved - %s",
        "reserved >= %s",
        variant_id=variant_id,
        pool_id=pool_id,
        quantity=quantity,
    )
    # Listings change only when the pool had run out.
    stock_changed([variant_id], listing=free is not None and free <= quantity, pool_id=pool_id)


def _stock_update(
    assignment: str, condition: str, *, variant_id: int, pool_id: int, quantity: int
) -> int | None:
    """One conditional UPDATE of a stock level; the units free after it, or None
    when the condition did not hold (nothing changed)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE pricing_stocklevel SET {assignment}, updated_at = %s "  # noqa: S608
            f"WHERE variant_id = %s AND pool_id = %s AND {condition} "
            "RETURNING quantity - reserved",
            [quantity, timezone.now(), variant_id, pool_id, quantity],
        )
        row = cursor.fetchone()
    return None if row is None else int(row[0])


def stock_changed(
    variant_ids: Iterable[int], *, listing: bool = True, pool_id: int | None = None
) -> None:
    """Retire the cached pages showing these variants' availability, after the commit,
    and (``listing``) note their products for the listing table, in this transaction
    (for the markets using ``pool_id``, or any pool).

    Only those: an order or a stock edit never retires catalogue texts,
    facets or other products' pages.
    """
    ids = set(variant_ids)
    if listing:
        variants_changed(ids, source=f"stock-pool:{pool_id}" if pool_id else "stock")
    versions.retire(*(versions.stock(variant_id) for variant_id in ids))


def price_lists_changed(price_list_ids: Iterable[int]) -> None:
    """Retire the cached pages showing prices of these lists, after the commit."""
    versions.retire(*(versions.price_list(list_id) for list_id in set(price_list_ids)))


def stock_commit(*, variant_id: int, pool_id: int, quantity: int) -> bool:
    """Turn reserved units into sold ones: quantity and reserved both go down.

    One conditional UPDATE: nothing changes (and False is returned) unless the
    level holds that many reserved units.
    """
    if quantity <= 0:
        raise ValueError("quantity must be positive")
    committed = StockLevel.objects.filter(
        variant_id=variant_id,
        pool_id=pool_id,
        reserved__gte=quantity,
        quantity__gte=quantity,
    ).update(
        quantity=F("quantity") - quantity,
        reserved=F("reserved") - quantity,
        updated_at=timezone.now(),
    )
    if committed:
        # Quantity and reserved go down together: the free units, and so the
        # listings, stay as they were.
        stock_changed([variant_id], listing=False)
    return bool(committed)


@dataclass(frozen=True)
class PriceAmounts:
    """A price as a bulk write sets it: what ``price_set`` takes, for one variant."""

    amount: Decimal
    compare_at_amount: Decimal | None = None
    sale_amount: Decimal | None = None
    sale_starts_at: datetime | None = None
    sale_ends_at: datetime | None = None


@transaction.atomic
def prices_bulk_set(*, price_list: PriceList, prices: Mapping[int, PriceAmounts]) -> int:
    """``price_set`` for many variants (id → amounts) of one list in one statement: an import.

    Each price is set as by hand (its compare-at and sale amounts as given,
    None clearing them); the listing table, the list's cached pages and the
    lists derived from it follow, as after ``price_set``. Raises
    ``ValidationError`` (and changes nothing) for an invalid price or an unknown
    variant. Returns the number of prices that changed.
    """
    variant_ids = sorted(prices)
    if not variant_ids:
        return 0
    for variant_id in variant_ids:
        given = prices[variant_id]
        price_amounts_check(
            amount=given.amount,
            compare_at_amount=given.compare_at_amount,
            sale_amount=given.sale_amount,
            sale_starts_at=given.sale_starts_at,
            sale_ends_at=given.sale_ends_at,
        )
    rows = [prices[variant_id] for variant_id in variant_ids]
    with connection.cursor() as cursor:
        _variants_exist(cursor, variant_ids)
        cursor.execute(
            """
            INSERT INTO pricing_priceentry
                (price_list_id, variant_id, amount, compare_at_amount, sale_amount,
                 sale_starts_at, sale_ends_at, is_manual, updated_at)
            SELECT %s, new.variant_id, new.amount, new.compare_at_amount, new.sale_amount,
                   new.sale_starts_at, new.sale_ends_at, TRUE, now()
            FROM unnest(%s::bigint[], %s::numeric[], %s::numeric[], %s::numeric[],
                        %s::timestamptz[], %s::timestamptz[])
                AS new(variant_id, amount, compare_at_amount, sale_amount,
                       sale_starts_at, sale_ends_at)
            ON CONFLICT (price_list_id, variant_id) DO UPDATE SET
                amount = EXCLUDED.amount,
                compare_at_amount = EXCLUDED.compare_at_amount,
                sale_amount = EXCLUDED.sale_amount,
                sale_starts_at = EXCLUDED.sale_starts_at,
                sale_ends_at = EXCLUDED.sale_ends_at,
                is_manual = TRUE,
                updated_at = EXCLUDED.updated_at
            WHERE (pricing_priceentry.amount, pricing_priceentry.compare_at_amount,
                   pricing_priceentry.sale_amount, pricing_priceentry.sale_starts_at,
                   pricing_priceentry.sale_ends_at, pricing_priceentry.is_manual)
                IS DISTINCT FROM (EXCLUDED.amount, EXCLUDED.compare_at_amount,
                   EXCLUDED.sale_amount, EXCLUDED.sale_starts_at, EXCLUDED.sale_ends_at, TRUE)
            """,
            [
                price_list.pk,
                variant_ids,
                [row.amount for row in rows],
                [row.compare_at_amount for row in rows],
                [row.sale_amount for row in rows],
                [row.sale_starts_at for row in rows],
                [row.sale_ends_at for row in rows],
            ],
        )
        written = cursor.rowcount
    versions.retire(versions.price_list(price_list.pk))
    variants_changed(variant_ids, source=f"price-list:{price_list.pk}")
    derived_follow(price_list, variant_ids=variant_ids)
    return written
