"""``offers_for``: what a variant costs here and whether it can be bought.

The single door to prices and availability. Listing and product pages, and
later the cart, checkout, feeds and marketplace sync, all ask it, so a
price is computed the same way everywhere. It runs two queries for any
number of variants (price entries, stock); the market's lists and pools and
the tax rates come from the cache (one more query when they changed).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from django.utils import timezone

from pricing.money import add_tax, quantize, remove_tax
from pricing.selectors import PriceListInfo, market_pricing
from pricing.tax import TaxTable, rate_in, tax_table
from shop.db import planned_cursor


@dataclass(frozen=True, slots=True)
class PriceContext:
    """Where, for whom and when a price is asked: built once per request or order."""

    market_id: int
    country: str
    currency: str
    prices_include_tax: bool
    customer_group_id: int | None = None
    at: datetime | None = None

    @classmethod
    def from_market(cls, context: object, *, at: datetime | None = None) -> PriceContext:
        """From a ``shop.context.MarketContext``."""
        market = context.market  # type: ignore[attr-defined]
        return cls(
            market_id=market.id,
            country=context.country,  # type: ignore[attr-defined]
            currency=market.currency,
            prices_include_tax=market.prices_include_tax,
            customer_group_id=context.customer_group_id,  # type: ignore[attr-defined]
            at=at,
        )


class Availability(StrEnum):
    IN_STOCK = "in_stock"
    LOW_STOCK = "low_stock"
    BACKORDER = "backorder"
    OUT_OF_STOCK = "out_of_stock"
    NOT_SOLD = "not_sold"  # no price in this market

    @property
    def schema_org(self) -> str:
        return {
            Availability.IN_STOCK: "https://schema.org/InStock",
            Availability.LOW_STOCK: "https://schema.org/LimitedAvailability",
            Availability.BACKORDER: "https://schema.org/BackOrder",
            Availability.OUT_OF_STOCK: "https://schema.org/OutOfStock",
            Availability.NOT_SOLD: "https://schema.org/Discontinued",
        }[self]


@dataclass(frozen=True, slots=True)
class Offer:
    """A variant's price and availability in one context. Amounts are exact Decimals."""

    variant_id: int
    currency: str
    net: Decimal | None
    tax: Decimal | None
    gross: Decimal | None
    tax_rate: Decimal | None
    prices_include_tax: bool
    regular: Decimal | None  # the shown price without the sale, when on sale
    compare_at: Decimal | None
    available_quantity: int
    availability: Availability
    price_list_id: int | None = None

    @property
    def price(self) -> Decimal | None:
        """The amount shown to the shopper: gross or net, as the market displays."""
        return self.gross if self.prices_include_tax else self.net

    @property
    def is_on_sale(self) -> bool:
        return self.regular is not None

    @property
    def was(self) -> Decimal | None:
        """The struck-out amount: the regular price during a sale, else compare-at."""
        candidate = self.regular if self.regular is not None else self.compare_at
        if candidate is None or self.price is None or candidate <= self.price:
            return None
        return candidate

    @property
    def can_buy(self) -> bool:
        return self.availability in {
            Availability.IN_STOCK,
            Availability.LOW_STOCK,
            Availability.BACKORDER,
        }


AVAILABILITY_ORDER = [
    Availability.IN_STOCK,
    Availability.LOW_STOCK,
    Availability.BACKORDER,
    Availability.OUT_OF_STOCK,
    Availability.NOT_SOLD,
]


def best_offer(offers: Sequence[Offer]) -> tuple[Offer | None, bool, Availability]:
    """The offer a card shows, whether variants differ in price, and the best availability."""
    priced = [offer for offer in offers if offer.price is not None]
    if not priced:
        return None, False, Availability.NOT_SOLD
    buyable = [offer for offer in priced if offer.can_buy] or priced
    cheapest = min(buyable, key=lambda offer: offer.price or Decimal(0))
    varies = len({offer.price for offer in priced}) > 1
    availability = min((offer.availability for offer in offers), key=AVAILABILITY_ORDER.index)
    return cheapest, varies, availability


@dataclass(frozen=True, slots=True)
class _Amounts:
    net: Decimal
    tax: Decimal
    gross: Decimal


def _split(
    list_amount: Decimal,
    price_list: PriceListInfo,
    context: PriceContext,
    tax_class_id: int,
    taxes: TaxTable,
) -> _Amounts:
    """Net, tax and gross for the shopper's country from a list amount.

    In a market that shows gross prices, a tax-inclusive list's price is the
    gross price in every country of the market; only the tax part follows the
    shopper's country rate.
    """
    currency = context.currency
    rate = rate_in(taxes, context.country, tax_class_id)
    if price_list.includes_tax and context.prices_include_tax:
        gross = quantize(list_amount, currency)
        net = quantize(remove_tax(gross, rate), currency)
        return _Amounts(net, gross - net, gross)
    if price_list.includes_tax:
        net_amount = remove_tax(list_amount, rate_in(taxes, price_list.tax_country, tax_class_id))
        net = quantize(net_amount, currency)
    else:
        net = quantize(list_amount, currency)
    tax = quantize(add_tax(net, rate) - net, currency)
    return _Amounts(net, tax, net + tax)


@dataclass(frozen=True, slots=True)
class _PriceRow:
    variant_id: int
    price_list_id: int
    amount: Decimal
    compare_at_amount: Decimal | None
    sale_amount: Decimal | None
    sale_starts_at: datetime | None
    sale_ends_at: datetime | None
    tax_class_id: int
    allows_backorder: bool
    low_stock_threshold: int

    def is_on_sale(self, at: datetime) -> bool:
        return (
            self.sale_amount is not None
            and (self.sale_starts_at is None or self.sale_starts_at <= at)
            and (self.sale_ends_at is None or at < self.sale_ends_at)
        )


@dataclass
class OfferInputs:
    """Price rows and stock levels read for offers, kept for further calls of
    ``offers_for`` over the same variants in other contexts (a batch job asking
    for many markets and countries reads each list and pool set once)."""

    rows: dict[tuple[int, ...], list[_PriceRow]] = field(default_factory=dict)
    available: dict[tuple[int, ...], dict[int, int]] = field(default_factory=dict)


def offers_for(
    variants: Iterable[object],
    context: PriceContext,
    *,
    available: Mapping[int, int] | None = None,
    inputs: OfferInputs | None = None,
) -> dict[int, Offer]:
    """Offers for ``variants`` (Variant objects or ids), keyed by variant id.

    Every requested variant gets an offer; one without a price in the
    market's lists is ``NOT_SOLD``. ``available`` (variant → free units over
    the market's pools, none below 0) is read here unless the caller has
    just read the same levels. ``inputs`` keeps what was read for later calls
    with the same variants.
    """
    variant_ids = sorted({int(getattr(v, "pk", v)) for v in variants})  # type: ignore[call-overload]
    if not variant_ids:
        return {}
    config = market_pricing(context.market_id)
    # The group's list first, then retail; a list in another currency is a
    # configuration mistake that must not show wrong-currency prices.
    price_lists = [
        info
        for info in config.price_lists_for(context.customer_group_id)
        if info.currency == context.currency
    ]
    at = context.at or timezone.now()
    list_ids = tuple(info.id for info in price_lists)
    if inputs is None:
        inputs = OfferInputs()
    if list_ids not in inputs.rows:
        inputs.rows[list_ids] = _price_rows(variant_ids, list(list_ids))
    rows = inputs.rows[list_ids]
    tax_countries = {context.country} | {i.tax_country for i in price_lists if i.tax_country}
    taxes = tax_table(tax_countries, on=timezone.localdate(at)) if rows else {}
    if available is None:
        if config.pool_ids not in inputs.available:
            inputs.available[config.pool_ids] = available_units(variant_ids, config.pool_ids)
        available = inputs.available[config.pool_ids]

    preference = {info.id: position for position, info in enumerate(price_lists)}
    best: dict[int, _PriceRow] = {}
    for row in rows:
        current = best.get(row.variant_id)
        if current is None or preference[row.price_list_id] < preference[current.price_list_id]:
            best[row.variant_id] = row

    lists_by_id = {info.id: info for info in price_lists}
    offers = {}
    for variant_id in variant_ids:
        quantity = available.get(variant_id, 0)
        chosen = best.get(variant_id)
        if chosen is None:
            offers[variant_id] = _not_sold(variant_id, context, quantity)
        else:
            price_list = lists_by_id[chosen.price_list_id]
            offers[variant_id] = _offer(chosen, price_list, context, taxes, at, quantity)
    return offers


def _not_sold(variant_id: int, context: PriceContext, quantity: int) -> Offer:
    return Offer(
        variant_id=variant_id,
        currency=context.currency,
        net=None,
        tax=None,
        gross=None,
        tax_rate=None,
        prices_include_tax=context.prices_include_tax,
        regular=None,
        compare_at=None,
        available_quantity=quantity,
        availability=Availability.NOT_SOLD,
    )


def _offer(
    row: _PriceRow,
    price_list: PriceListInfo,
    context: PriceContext,
    taxes: TaxTable,
    at: datetime,
    quantity: int,
) -> Offer:
    def shown(list_amount: Decimal) -> _Amounts:
        return _split(list_amount, price_list, context, row.tax_class_id, taxes)

    def displayed(amounts: _Amounts) -> Decimal:
        return amounts.gross if context.prices_include_tax else amounts.net

    regular = shown(row.amount)
    on_sale = row.is_on_sale(at)
    current = shown(row.sale_amount) if on_sale and row.sale_amount is not None else regular
    compare_at = row.compare_at_amount
    return Offer(
        variant_id=row.variant_id,
        currency=context.currency,
        net=current.net,
        tax=current.tax,
        gross=current.gross,
        tax_rate=rate_in(taxes, context.country, row.tax_class_id),
        prices_include_tax=context.prices_include_tax,
        regular=displayed(regular) if on_sale else None,
        compare_at=None if compare_at is None else displayed(shown(compare_at)),
        available_quantity=quantity,
        availability=_availability(quantity, row),
        price_list_id=price_list.id,
    )


def _availability(quantity: int, row: _PriceRow) -> Availability:
    if quantity > row.low_stock_threshold:
        return Availability.IN_STOCK
    if quantity > 0:
        return Availability.LOW_STOCK
    if row.allows_backorder:
        return Availability.BACKORDER
    return Availability.OUT_OF_STOCK


def _price_rows(variant_ids: list[int], price_list_ids: list[int]) -> list[_PriceRow]:
    if not price_list_ids:
        return []
    # The variant ids are given to both tables, so that PostgreSQL looks each
    # up by its key whatever the number of variants (one query, planned once).
    with planned_cursor() as cursor:
        cursor.execute(
            """
            SELECT e.variant_id, e.price_list_id, e.amount, e.compare_at_amount,
                   e.sale_amount, e.sale_starts_at, e.sale_ends_at,
                   p.tax_class_id, v.allows_backorder, v.low_stock_threshold
            FROM pricing_priceentry e
            JOIN catalog_variant v ON v.id = e.variant_id
            JOIN catalog_product p ON p.id = v.product_id
            WHERE e.variant_id = ANY(%s::bigint[]) AND v.id = ANY(%s::bigint[])
              AND e.price_list_id = ANY(%s::bigint[]) AND v.is_active
            """,
            [variant_ids, variant_ids, price_list_ids],
        )
        return [_PriceRow(*row) for row in cursor.fetchall()]


def available_units(variant_ids: Iterable[int], pool_ids: tuple[int, ...]) -> dict[int, int]:
    """Σ max(quantity − reserved, 0) over the market's pools, per variant (one query)."""
    if not pool_ids:
        return {}
    with planned_cursor() as cursor:
        cursor.execute(
            """
            SELECT variant_id, sum(greatest(quantity - reserved, 0)) FROM pricing_stocklevel
            WHERE variant_id = ANY(%s::bigint[]) AND pool_id = ANY(%s::bigint[])
            GROUP BY variant_id
            """,
            [list(variant_ids), list(pool_ids)],
        )
        return {variant_id: int(free or 0) for variant_id, free in cursor.fetchall()}
