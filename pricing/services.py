"""Writes of prices and stock. Derived lists follow every price change."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

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

if TYPE_CHECKING:
    from catalog.models import Variant


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
    derived_follow(price_list, variant_ids=[variant_id])
    return entry


@transaction.atomic
def price_unset(*, price_list: PriceList, variant_id: int) -> None:
    """Remove a price; on a derived list the rule's price comes back."""
    PriceEntry.objects.filter(price_list=price_list, variant_id=variant_id).delete()
    versions.retire(versions.price_list(price_list.pk))
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
    stock_changed([variant.pk])
    return level


@transaction.atomic
def stock_levels_zero(levels: QuerySet[StockLevel]) -> tuple[int, int]:
    """Set quantities to zero in SQL; rows holding reservations without backorder keep theirs.

    Returns (changed, kept).
    """
    held_for_orders = Q(reserved__gt=0, allows_backorder=False)
    kept = levels.filter(held_for_orders).count()
    stock_changed(levels.values_list("variant_id", flat=True))
    changed = levels.exclude(held_for_orders).update(quantity=0, updated_at=timezone.now())
    return changed, kept


@transaction.atomic
def stock_levels_add(levels: QuerySet[StockLevel], *, units: int) -> int:
    """Add ``units`` to every level in one UPDATE (no read-then-write)."""
    stock_changed(levels.values_list("variant_id", flat=True))
    changed = levels.update(quantity=F("quantity") + units, updated_at=timezone.now())
    return changed


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
        reserved = StockLevel.objects.filter(
            variant_id=variant_id,
            pool_id=pool_id,
            quantity__gte=F("reserved") + quantity,
        ).update(reserved=F("reserved") + quantity, updated_at=timezone.now())
        if reserved:
            stock_changed([variant_id])
            return pool_id
    return None


def stock_release(*, variant_id: int, pool_id: int, quantity: int) -> None:
    """Give back reserved units (an expired or cancelled reservation)."""
    StockLevel.objects.filter(
        variant_id=variant_id, pool_id=pool_id, reserved__gte=quantity
    ).update(reserved=F("reserved") - quantity, updated_at=timezone.now())
    stock_changed([variant_id])


def stock_changed(variant_ids: Iterable[int]) -> None:
    """Retire the cached pages showing these variants' availability, after the commit.

    Only those: an order or a stock edit never retires catalogue texts,
    facets or other products' pages.
    """
    versions.retire(*(versions.stock(variant_id) for variant_id in set(variant_ids)))


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
        stock_changed([variant_id])
    return bool(committed)
