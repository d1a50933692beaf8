"""The cart's price: lines, shipping, import duty, payment fee and tax.

Composed from small steps, each asking the app that owns the rule:
``pricing.offers_for`` for unit prices and availability, ``shipping`` for
the shipping option and duty, ``pricing.checkout_tax`` for the tax of every
item (lines, shipping and the payment fee; duty is not taxed). The payment
fee rule comes from the caller (``payments``), which knows the methods.

Totals: each item is rounded on its own (by ``checkout_tax``), then summed,
so ``net + tax == gross`` holds for every item and for the total.

Unit prices are derived from the line, never the other way round: the line
amounts (rounded to the currency's minor unit) are what is charged, and the
unit amounts are the line's divided by the quantity, kept to 4 decimals
(exactly the minor unit when it divides evenly; ``unit.tax = unit.gross -
unit.net``). So ``quantity × unit.net`` gives the line's net within
quantity × 0.00005, well inside EN 16931's rounding slack: on an invoice,
``unit.net`` is the item net price (BT-146) and ``total.net`` the line net
amount (BT-131).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import ParamSpec, TypeVar

from django.core.cache import cache
from django.utils import translation
from django.utils.translation import gettext

from catalog.models import ProductTranslation, Variant, translated
from orders.models import Cart, CartLine
from pricing.checkout_tax import InvalidVatNumber, TaxableItem, TaxEngineError, checkout_tax
from pricing.models import StockLevel, StockPool
from pricing.money import quantize
from pricing.offers import Availability, Offer, PriceContext, offers_for
from pricing.rates import current_rates
from pricing.selectors import market_pricing
from pricing.tax import MissingTaxRate
from shipping.selectors import (
    CustomsLine,
    Destination,
    ShippingOption,
    crosses_customs_border,
    duty_quote,
    shipping_options,
)
from shop import versions

logger = logging.getLogger(__name__)

VARIANTS_TIMEOUT = 60 * 60

P = ParamSpec("P")
R = TypeVar("R")

ZERO = Decimal(0)
HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class Amounts:
    net: Decimal
    tax: Decimal
    gross: Decimal

    def __add__(self, other: Amounts) -> Amounts:
        return Amounts(self.net + other.net, self.tax + other.tax, self.gross + other.gross)

    @classmethod
    def zero(cls, currency: str) -> Amounts:
        nothing = quantize(ZERO, currency)
        return cls(nothing, nothing, nothing)


@dataclass(frozen=True, slots=True)
class Problem:
    """Why the cart cannot be ordered yet: a machine code and a message for the shopper."""

    code: str
    message: str
    field: str = ""


@dataclass(frozen=True, slots=True)
class Notice:
    """Something the shopper must know before paying (re-priced, duties on delivery…)."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class QuoteLine:
    line_id: int
    variant_id: int
    sku: str
    name: str
    quantity: int
    unit: Amounts
    total: Amounts
    tax_rate: Decimal
    tax_category: str
    tax_class_id: int
    hs_code: str
    origin_country: str
    ship_from_pool_id: int | None
    ship_from_country: str
    weight_grams: int
    crosses_border: bool
    available_quantity: int


@dataclass(frozen=True, slots=True)
class QuoteShipping:
    method_id: int
    code: str
    carrier: str
    name: str
    amounts: Amounts
    tax_rate: Decimal
    tax_category: str
    days_min: int = 0
    days_max: int = 0


@dataclass(frozen=True, slots=True)
class QuoteDuty:
    """Import duty: ``ddp`` is charged now as its own line, ``dap`` is only a notice."""

    mode: str  # "none" | "ddp" | "dap"
    amount: Decimal
    notice: str = ""
    import_vat_at_checkout: bool = True

    @property
    def charged(self) -> Decimal:
        return self.amount if self.mode == "ddp" else ZERO


@dataclass(frozen=True, slots=True)
class FeeRule:
    """A payment method's fee (negative: a discount): fixed amount plus a percentage
    of items and shipping."""

    code: str
    name: str
    fixed: Decimal = ZERO
    fixed_currency: str = ""
    percent: Decimal = ZERO
    pays_on_delivery: bool = False


@dataclass(frozen=True, slots=True)
class QuoteFee:
    code: str
    name: str
    amounts: Amounts
    tax_rate: Decimal
    tax_category: str


@dataclass(frozen=True, slots=True)
class SellerInfo:
    id: int
    legal_name: str
    country: str


@dataclass(frozen=True)
class CartQuote:
    """Everything the shopper pays, as it would be frozen into an order now."""

    cart_id: int
    market_id: int
    market_code: str
    currency: str
    prices_include_tax: bool
    language: str
    destination_country: str
    seller: SellerInfo | None
    lines: tuple[QuoteLine, ...]
    subtotal: Amounts
    shipping: QuoteShipping | None
    duty: QuoteDuty
    payment_fee: QuoteFee | None
    total: Amounts
    notices: tuple[Notice, ...] = ()
    problems: tuple[Problem, ...] = ()
    tax_notes: tuple[str, ...] = ()
    reverse_charge: bool = False
    export: bool = False
    vat_number: str = ""
    exchange_rate: Decimal | None = None  # units of ``currency`` per EUR
    payment_method_code: str = ""
    # What a payment method's fee is a percentage of: the items at the prices shown
    # and the shipping option's price, before checkout tax (reverse charge, export).
    fee_base: Decimal = ZERO

    @property
    def is_placeable(self) -> bool:
        return bool(self.lines) and not self.problems

    @property
    def weight_grams(self) -> int:
        return sum(line.weight_grams * line.quantity for line in self.lines)

    def problem_codes(self) -> list[str]:
        return [problem.code for problem in self.problems]


class ConversionError(ValueError):
    """No exchange rate for a currency."""


def cart_price_context(cart: Cart) -> PriceContext:
    """Prices of the cart's pricing market, for the shipping country (or the market's own)."""
    market = cart.pricing_market
    group_id = cart.customer.group_id if cart.customer_id and cart.customer else None
    return PriceContext(
        market_id=market.pk,
        country=cart.country_id or market.default_country_id,
        currency=market.currency,
        prices_include_tax=market.prices_include_tax,
        customer_group_id=group_id,
    )


def exchange_convert(amount: Decimal, from_currency: str, to_currency: str) -> Decimal:
    """``amount`` in another currency at the latest rates (through the euro)."""
    if from_currency == to_currency:
        return amount

    rates = current_rates()
    try:
        return amount / rates[from_currency] * rates[to_currency]
    except KeyError as error:
        raise ConversionError(f"no exchange rate for {error.args[0]}") from error


def _attach_variants(lines: Sequence[CartLine], language: str, *, attach: bool) -> dict[int, str]:
    """Each variant's name in ``language`` (the product's name and its options);
    with ``attach``, give each line its variant (with the product) too.

    Both are catalogue data, kept in the cache per variant until the catalogue
    changes; the misses are read with three queries. The variants attached are
    copies from the cache: read them, never save them through a line.
    """
    if not lines:
        return {}
    variant_ids = sorted({line.variant_id for line in lines})
    current = versions.version(versions.CATALOGUE)
    keys = {pk: f"cart-variant:{language}:{pk}:v{current}" for pk in variant_ids}
    found = cache.get_many(list(keys.values())) if current != versions.UNKNOWN else {}
    known: dict[int, tuple[Variant, str]] = {
        pk: found[key] for pk, key in keys.items() if key in found
    }
    missing = [pk for pk in variant_ids if pk not in known]
    if missing:
        read = _variants_read(missing, language)
        known.update(read)
        if current != versions.UNKNOWN:
            cache.set_many({keys[pk]: entry for pk, entry in read.items()}, VARIANTS_TIMEOUT)
    if attach:
        for line in lines:
            line.variant = known[line.variant_id][0]
    return {pk: name for pk, (_variant, name) in known.items()}


def _variants_read(variant_ids: list[int], language: str) -> dict[int, tuple[Variant, str]]:
    variants = list(
        Variant.objects.filter(pk__in=variant_ids)
        .select_related("product")
        .prefetch_related("option_values")
    )
    product_ids = {variant.product_id for variant in variants}
    texts: dict[int, dict[str, str]] = {}
    for product_id, text_language, name in ProductTranslation.objects.filter(
        product_id__in=product_ids
    ).values_list("product_id", "language", "name"):
        texts.setdefault(product_id, {})[text_language] = name
    entries = {}
    for variant in variants:
        product_names = texts.get(variant.product_id, {})
        fallback = next(iter(product_names.values()), variant.sku)
        name = translated(product_names, language, fallback)
        options = ", ".join(value.name_in(language) for value in variant.option_values.all())
        # Kept without the prefetched options: they were read for the name only.
        variant._prefetched_objects_cache = {}  # type: ignore[attr-defined]
        entries[variant.pk] = (variant, f"{name} ({options})" if options else name)
    return entries


@dataclass(frozen=True)
class _Stock:
    """The lines' stock in the market's pools, read once for prices and ship-from."""

    pool_ids: tuple[int, ...]
    free: dict[tuple[int, int], int]  # (variant, pool) → quantity − reserved
    countries: dict[int, str | None]  # pool → country

    @property
    def available(self) -> dict[int, int]:
        """Variant → Σ free units over the pools (none below 0): what offers show."""
        total: dict[int, int] = {}
        for (variant_id, _pool), free in self.free.items():
            total[variant_id] = total.get(variant_id, 0) + max(free, 0)
        return total

    @property
    def most_in_one_pool(self) -> dict[int, int]:
        """Variant → the most units free in one pool: what a line can have."""
        best: dict[int, int] = {}
        for (variant_id, _pool), free in self.free.items():
            best[variant_id] = max(best.get(variant_id, 0), free)
        return best


def _stock(lines: Sequence[CartLine], market_id: int) -> _Stock:
    pool_ids = market_pricing(market_id).pool_ids
    free: dict[tuple[int, int], int] = {}
    countries: dict[int, str | None] = {}
    if lines and pool_ids:
        levels = StockLevel.objects.filter(
            variant_id__in=sorted({line.variant_id for line in lines}), pool_id__in=pool_ids
        ).values_list("variant_id", "pool_id", "pool__country_id", "quantity", "reserved")
        for variant_id, pool_id, country, quantity, reserved in levels:
            free[(variant_id, pool_id)] = quantity - reserved
            countries[pool_id] = country
    return _Stock(pool_ids, free, countries)


def ship_from_pools(
    lines: Sequence[CartLine], market_id: int, *, stock: _Stock | None = None
) -> dict[int, tuple[int | None, str]]:
    """Line id → (pool id, pool country): the first of the market's pools holding the line."""
    stock = stock if stock is not None else _stock(lines, market_id)
    pool_ids, free, countries = stock.pool_ids, stock.free, dict(stock.countries)
    picked: dict[int, int | None] = {}
    for line in lines:
        pool = next(
            (p for p in pool_ids if free.get((line.variant_id, p), 0) >= line.quantity),
            next((p for p in pool_ids if (line.variant_id, p) in free), None),
        )
        if pool is None and pool_ids:
            pool = pool_ids[0]
        picked[line.pk] = pool
    unknown = {pool for pool in picked.values() if pool and pool not in countries}
    if unknown:  # a pool holding none of the lines: its country is not in the levels read
        countries.update(StockPool.objects.filter(pk__in=unknown).values_list("pk", "country_id"))
    return {
        line_id: (pool, (countries.get(pool) or "") if pool else "")
        for line_id, pool in picked.items()
    }


@dataclass
class _Draft:
    """The pieces of a quote while it is being put together."""

    lines: list[CartLine]
    offers: dict[int, Offer]
    names: dict[int, str]
    pools: dict[int, tuple[int | None, str]]
    problems: list[Problem] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    crossing: dict[int, bool] = field(default_factory=dict)
    delivery: _Delivery | None = None
    pool_max: dict[int, int] = field(default_factory=dict)  # variant → most free in one pool


@dataclass(frozen=True)
class _Delivery:
    """Customs crossings, the shipping option and duty: the same with or without a fee."""

    crossing: dict[int, bool]
    option: ShippingOption | None
    duty: QuoteDuty
    problems: tuple[Problem, ...]


def _prepare(cart: Cart, *, exact: bool) -> _Draft:
    """Lines, offers, names and ship-from pools; problems of the lines themselves.

    ``exact`` (review and placement: what is frozen into an order) reads the
    variants and products from the database; otherwise (the cart as it is
    filled) their cached copies, which follow every change made through the
    admin and the services once it commits. Names (and markets, sellers and
    the rest of the configuration) come from the caches in both cases.
    """
    market = cart.pricing_market
    if exact:
        lines = list(cart.lines.select_related("variant__product").order_by("id"))
    else:
        lines = list(cart.lines.order_by("id"))
    names = _attach_variants(lines, cart.language, attach=not exact)
    stock = _stock(lines, market.pk)
    draft = _Draft(
        lines=lines,
        offers=offers_for(
            [line.variant_id for line in lines],
            cart_price_context(cart),
            available=stock.available,
        ),
        names=names,
        pools=ship_from_pools(lines, market.pk, stock=stock),
        pool_max=stock.most_in_one_pool,
    )
    if market.seller_id is None:
        draft.problems.append(
            Problem("no_seller", gettext("This shop cannot take orders in this market yet."))
        )
    if not lines:
        draft.problems.append(Problem("empty_cart", gettext("Your cart is empty.")))
    country = cart.country_id or market.default_country_id
    visible = {
        line.variant.product_id for line in lines if line.variant.product.is_shown_in(country)
    }
    _check_lines(lines, draft.offers, draft, visible)
    if cart.repriced_from_id and cart.repriced_from_id != market.pk:
        items = sum(
            (_shown_total(draft.offers[line.variant_id], line.quantity) for line in lines), ZERO
        )
        draft.notices.append(_repriced_notice(cart, items))
    return draft


def in_cart_language(function: Callable[P, R]) -> Callable[P, R]:
    """Run ``function`` in the language of its ``cart`` argument: its messages,
    notices and tax notes are in the cart's language, whatever the request's."""

    @functools.wraps(function)
    def in_language(*args: P.args, **kwargs: P.kwargs) -> R:
        language = getattr(kwargs.get("cart"), "language", "")
        if not language:
            return function(*args, **kwargs)
        with translation.override(language):
            return function(*args, **kwargs)

    return in_language


@in_cart_language
def cart_quote_at_offer_prices(*, cart: Cart) -> CartQuote:
    """The lines at the offers' prices (the market's tax display), without shipping,
    duty, fee or checkout tax: the cart before an address is known.

    Problems name the lines that cannot be bought; nothing about the address.
    """
    return _offer_price_quote(cart, _prepare(cart, exact=False))


@in_cart_language
def cart_quote(*, cart: Cart, fee: FeeRule | None = None) -> CartQuote:
    """Price the cart as it stands: what would be frozen into an order now.

    Never raises for the shopper's state of the cart: what stops an order
    (no address, no shipping method, out of stock, a missing tax rate…) is
    listed in ``problems`` with a code and a message.
    """
    return _quote(cart, _prepare(cart, exact=True), fee)


def cart_quote_and_fee(
    *, cart: Cart, fee_for: Callable[[CartQuote], FeeRule | None]
) -> tuple[CartQuote, CartQuote | None]:
    """``cart_quote`` without a fee, then with the fee rule ``fee_for`` picks from it
    (None when it picks none): the cart, its stock and shipping are read once."""
    base, with_fee = cart_quote_pricer(cart=cart)
    fee = fee_for(base)
    return base, None if fee is None else with_fee(fee)


def cart_quote_pricer(*, cart: Cart) -> tuple[CartQuote, Callable[[FeeRule], CartQuote]]:
    """``cart_quote`` without a fee, and a function pricing the same reading of the
    cart with a fee rule (what review would show with that payment method).

    Call both in the cart's language (``in_cart_language``)."""
    draft = _prepare(cart, exact=True)
    return _quote(cart, draft, None), lambda fee: _quote(cart, draft, fee)


def _delivery(cart: Cart, draft: _Draft) -> _Delivery:
    """Which lines cross a customs border, the chosen shipping option and the duty."""
    lines, offers, pools = draft.lines, draft.offers, draft.pools
    destination = cart.country_id or ""
    scratch = replace(draft, problems=[], notices=[], crossing={})
    crosses = {
        country: crosses_customs_border(country, destination)
        for country in {pools[line.pk][1] for line in lines}
        if country
    }
    for line in lines:
        scratch.crossing[line.pk] = crosses.get(pools[line.pk][1], False)
    shown = {line.pk: _shown_total(offers[line.variant_id], line.quantity) for line in lines}
    option = _shipping_option(cart, lines, offers, shown, scratch)
    duty = _duty(cart, scratch, option.price if option else ZERO)
    return _Delivery(scratch.crossing, option, duty, tuple(scratch.problems))


def _quote(cart: Cart, prepared: _Draft, fee: FeeRule | None) -> CartQuote:
    """The quote from a prepared draft, which it leaves as it was (but for ``delivery``)."""
    market = cart.pricing_market
    currency = market.currency
    draft = replace(prepared, problems=list(prepared.problems), notices=list(prepared.notices))
    if not cart.has_address:
        draft.problems.append(
            Problem("no_address", gettext("Enter the shipping address."), field="address")
        )
        return _offer_price_quote(cart, draft)
    lines, offers = draft.lines, draft.offers
    seller = market.seller
    destination = cart.country_id or ""

    if prepared.delivery is None:
        prepared.delivery = _delivery(cart, prepared)
    delivery = prepared.delivery
    draft.crossing = dict(delivery.crossing)
    draft.problems.extend(delivery.problems)
    crossing = draft.crossing
    shown = {line.pk: _shown_total(offers[line.variant_id], line.quantity) for line in lines}
    shipping_option = delivery.option
    shipping_price = shipping_option.price if shipping_option else ZERO
    duty = delivery.duty
    fee_base = sum(shown.values(), ZERO) + shipping_price
    fee_amount = _fee_amount(fee, currency, fee_base, draft)
    any_crossing = any(crossing.values())

    items = [
        TaxableItem(
            key=f"line:{line.pk}",
            tax_class_id=line.variant.product.tax_class_id,
            amount=shown[line.pk],
            amount_includes_tax=market.prices_include_tax,
            crosses_border=crossing.get(line.pk, False),
        )
        for line in lines
        if offers[line.variant_id].net is not None
    ]
    if shipping_option is not None:
        items.append(
            TaxableItem(
                key="shipping",
                tax_class_id=None,
                amount=shipping_option.price,
                amount_includes_tax=shipping_option.price_includes_tax,
                crosses_border=any_crossing,
            )
        )
    if fee is not None and fee_amount:
        items.append(
            TaxableItem(
                key="fee",
                tax_class_id=None,
                amount=fee_amount,
                amount_includes_tax=market.prices_include_tax,
                crosses_border=any_crossing,
            )
        )
    tax = None
    if seller is not None:
        try:
            tax = checkout_tax(
                seller=seller,
                destination_country=destination,
                destination_region=cart.region_code,
                items=items,
                currency=currency,
                vat_number=cart.vat_number,
                import_vat_at_checkout=duty.import_vat_at_checkout,
            )
        except MissingTaxRate as error:
            logger.error("Checkout stopped for cart %s: %s", cart.pk, error)
            draft.problems.append(Problem("missing_tax_rate", error.message))
        except InvalidVatNumber as error:
            draft.problems.append(Problem("invalid_vat_number", error.message, field="vat_number"))
        except TaxEngineError as error:
            logger.error("Tax engine unavailable for cart %s: %r", cart.pk, error.__cause__)
            draft.problems.append(Problem("tax_unavailable", error.message))
    if tax is None:
        return _offer_price_quote(cart, draft)
    if duty.mode == "ddp" and shipping_option is not None and shipping_option.price_includes_tax:
        # Duty on shipping is on its net, known only now (the tax needed the duty's mode).
        duty = _duty(cart, draft, tax.item("shipping").net)

    quote_lines = []
    for line in lines:
        offer = offers[line.variant_id]
        if offer.net is None:
            continue
        item = tax.item(f"line:{line.pk}")
        total = Amounts(item.net, item.tax, item.gross)
        quote_lines.append(_quote_line(line, offer, draft, total, item.rate, item.category))
    shipping = None
    if shipping_option is not None:
        item = tax.item("shipping")
        shipping = QuoteShipping(
            method_id=shipping_option.method_id,
            code=shipping_option.code,
            carrier=shipping_option.carrier,
            name=shipping_option.name,
            amounts=Amounts(item.net, item.tax, item.gross),
            tax_rate=item.rate,
            tax_category=item.category,
            days_min=shipping_option.days_min,
            days_max=shipping_option.days_max,
        )
    payment_fee = None
    if fee is not None:
        if fee_amount:
            item = tax.item("fee")
            amounts = Amounts(item.net, item.tax, item.gross)
            rate, category = item.rate, item.category
        else:
            amounts, rate, category = Amounts.zero(currency), ZERO, ""
        payment_fee = QuoteFee(fee.code, fee.name, amounts, rate, category)
    if duty.mode == "dap" and duty.notice:
        draft.notices.append(Notice("duty_on_delivery", duty.notice))
    elif duty.mode == "ddp" and duty.notice:
        draft.notices.append(Notice("duty_at_checkout", duty.notice))
    return _assemble(
        cart,
        quote_lines,
        shipping,
        duty,
        payment_fee,
        draft,
        seller,
        tax_notes=tuple(tax.notes),
        reverse_charge=tax.reverse_charge,
        export=tax.export,
        vat_number=tax.vat_number,
        fee_code=fee.code if fee else "",
        fee_base=fee_base,
    )


def _shown_total(offer: Offer, quantity: int) -> Decimal:
    """The line's amount as the market shows it (gross or net), before checkout tax."""
    price = offer.price
    return ZERO if price is None else price * quantity


def _check_lines(
    lines: Sequence[CartLine], offers: dict[int, Offer], draft: _Draft, visible: set[int]
) -> None:
    """Problems of the lines: not sold here (no price, inactive, or the product is
    unpublished or hidden in the destination country) and not enough stock."""
    for line in lines:
        offer = offers[line.variant_id]
        sku = line.variant.sku
        if line.variant.product_id not in visible:
            draft.problems.append(
                Problem(
                    "not_sold_here",
                    gettext("%(sku)s is not available in this country.") % {"sku": sku},
                    field=f"line:{line.pk}",
                )
            )
        elif offer.availability == Availability.NOT_SOLD or not line.variant.is_active:
            draft.problems.append(
                Problem(
                    "not_sold_here",
                    gettext("%(sku)s is not sold in this market.") % {"sku": sku},
                    field=f"line:{line.pk}",
                )
            )
        elif line.quantity > _line_available(offer, draft) and not line.variant.allows_backorder:
            draft.problems.append(
                Problem(
                    "not_enough_stock",
                    gettext("Only %(available)s of %(sku)s left.")
                    % {"available": _line_available(offer, draft), "sku": sku},
                    field=f"line:{line.pk}",
                )
            )


def _line_available(offer: Offer, draft: _Draft) -> int:
    """Units one line can have: the most free in a single pool (a line is not split)."""
    return min(offer.available_quantity, max(draft.pool_max.get(offer.variant_id, 0), 0))


def _repriced_notice(cart: Cart, items: Decimal) -> Notice:
    """The cart moved to the destination's market: the items before and now."""
    old = cart.repriced_from
    currency = cart.pricing_market.currency
    return Notice(
        "repriced",
        gettext(
            "Prices are now in %(currency)s, the prices of %(market)s where your order ships: "
            "items %(new_total)s %(currency)s (before: %(old_total)s %(old_currency)s)."
        )
        % {
            "currency": currency,
            "market": cart.pricing_market.name,
            "new_total": quantize(items, currency),
            "old_total": quantize(cart.repriced_old_total, old.currency)
            if old and cart.repriced_old_total is not None
            else cart.repriced_old_total,
            "old_currency": old.currency if old else "",
        },
    )


def destination_of(cart: Cart) -> Destination:

    return Destination(
        country=cart.country_id or "",
        region=cart.region_code,
        city=cart.city,
        district=cart.district,
        postal_code=cart.postal_code,
    )


def _shipping_option(
    cart: Cart,
    lines: Sequence[CartLine],
    offers: dict[int, Offer],
    shown: dict[int, Decimal],
    draft: _Draft,
) -> ShippingOption | None:

    if cart.shipping_method_id is None:
        draft.problems.append(
            Problem(
                "no_shipping_method",
                gettext("Choose a shipping method."),
                field="shipping_method",
            )
        )
        return None
    options = shipping_options(
        destination=destination_of(cart),
        currency=cart.pricing_market.currency,
        weight_grams=sum((line.variant.weight or 0) * line.quantity for line in lines),
        goods_value=sum(shown.values(), ZERO),
        language=cart.language,
    )
    chosen = next((o for o in options if o.method_id == cart.shipping_method_id), None)
    if chosen is None:
        draft.problems.append(
            Problem(
                "shipping_method_unavailable",
                gettext("The chosen shipping method does not serve this address or cart."),
                field="shipping_method",
            )
        )
    return chosen


def _duty(cart: Cart, draft: _Draft, shipping_price: Decimal) -> QuoteDuty:

    lines, offers, pools = draft.lines, draft.offers, draft.pools

    currency = cart.pricing_market.currency
    customs_lines = [
        CustomsLine(
            key=f"line:{line.pk}",
            hs_code=line.variant.product.hs_code,
            origin_country=line.variant.product.country_of_origin_id or "",
            ship_from_country=pools[line.pk][1],
            value=(offers[line.variant_id].net or ZERO) * line.quantity,
            quantity=line.quantity,
        )
        for line in lines
        if offers[line.variant_id].net is not None
    ]
    if not any(draft.crossing.values()):
        return QuoteDuty("none", quantize(ZERO, currency))
    try:
        quote = duty_quote(
            destination_country=cart.country_id or "",
            lines=customs_lines,
            shipping=shipping_price,
            currency=currency,
            convert=exchange_convert,
            language=cart.language,
        )
    except ConversionError as error:
        logger.error("Duty not computed for cart %s: %s", cart.pk, error)
        draft.problems.append(
            Problem("missing_exchange_rate", gettext("Import duty cannot be computed right now."))
        )
        return QuoteDuty("none", quantize(ZERO, currency))
    return QuoteDuty(
        mode=quote.mode,
        amount=quantize(quote.amount, currency),
        notice=quote.notice,
        import_vat_at_checkout=quote.import_vat_at_checkout,
    )


def _fee_amount(fee: FeeRule | None, currency: str, base: Decimal, draft: _Draft) -> Decimal:
    if fee is None:
        return ZERO
    fixed = fee.fixed
    if fixed and fee.fixed_currency and fee.fixed_currency != currency:
        try:
            fixed = exchange_convert(fixed, fee.fixed_currency, currency)
        except ConversionError:
            draft.problems.append(
                Problem(
                    "payment_method_unavailable",
                    gettext("This payment method is not available in %(currency)s.")
                    % {"currency": currency},
                    field="payment_method",
                )
            )
            return ZERO
    amount = quantize(fixed + base * fee.percent / HUNDRED, currency)
    # A discount takes at most the items and shipping: an order never costs less than 0.
    return max(amount, -quantize(base, currency))


UNIT_PRICE_QUANTUM = Decimal("0.0001")


def unit_price(line_amount: Decimal, quantity: int, currency: str) -> Decimal:
    """The line's amount per unit, to 4 decimals (the minor unit when that is exact)."""
    unit = (line_amount / quantity).quantize(UNIT_PRICE_QUANTUM, rounding=ROUND_HALF_UP)
    rounded = quantize(unit, currency)
    return rounded if rounded == unit else unit


def _quote_line(
    line: CartLine,
    offer: Offer,
    draft: _Draft,
    total: Amounts,
    rate: Decimal,
    category: str,
) -> QuoteLine:
    currency = offer.currency
    unit_net = unit_price(total.net, line.quantity, currency)
    unit_gross = unit_price(total.gross, line.quantity, currency)
    product = line.variant.product
    pool_id, pool_country = draft.pools[line.pk]
    return QuoteLine(
        line_id=line.pk,
        variant_id=line.variant_id,
        sku=line.variant.sku,
        name=draft.names.get(line.variant_id, line.variant.sku),
        quantity=line.quantity,
        unit=Amounts(unit_net, unit_gross - unit_net, unit_gross),
        total=total,
        tax_rate=rate,
        tax_category=category,
        tax_class_id=product.tax_class_id,
        hs_code=product.hs_code,
        origin_country=product.country_of_origin_id or "",
        ship_from_pool_id=pool_id,
        ship_from_country=pool_country,
        weight_grams=line.variant.weight or 0,
        crosses_border=draft.crossing.get(line.pk, False),
        available_quantity=_line_available(offer, draft),
    )


def _offer_price_quote(cart: Cart, draft: _Draft) -> CartQuote:
    quote_lines = []
    for line in draft.lines:
        offer = draft.offers[line.variant_id]
        if offer.net is None or offer.tax is None or offer.gross is None:
            continue
        total = Amounts(
            offer.net * line.quantity, offer.tax * line.quantity, offer.gross * line.quantity
        )
        quote_lines.append(_quote_line(line, offer, draft, total, offer.tax_rate or ZERO, ""))
    currency = cart.pricing_market.currency
    return _assemble(
        cart,
        quote_lines,
        None,
        QuoteDuty("none", quantize(ZERO, currency)),
        None,
        draft,
        cart.pricing_market.seller,
        fee_base=sum(
            (_shown_total(draft.offers[line.variant_id], line.quantity) for line in draft.lines),
            ZERO,
        ),
    )


def _assemble(
    cart: Cart,
    lines: list[QuoteLine],
    shipping: QuoteShipping | None,
    duty: QuoteDuty,
    payment_fee: QuoteFee | None,
    draft: _Draft,
    seller: object,
    *,
    tax_notes: tuple[str, ...] = (),
    reverse_charge: bool = False,
    export: bool = False,
    vat_number: str = "",
    fee_code: str = "",
    fee_base: Decimal = ZERO,
) -> CartQuote:

    market = cart.pricing_market
    currency = market.currency
    subtotal = Amounts.zero(currency)
    for line in lines:
        subtotal += line.total
    total = subtotal
    if shipping is not None:
        total += shipping.amounts
    if payment_fee is not None:
        total += payment_fee.amounts
    charged = duty.charged
    total += Amounts(charged, ZERO, charged)
    if total.gross < 0:  # a discount's tax rounded below the rest: refuse, never store
        logger.error("Cart %s quoted a negative total %s %s", cart.pk, total.gross, currency)
        draft.problems.append(
            Problem(
                "payment_method_unavailable",
                gettext("This payment method cannot be used for this order."),
                field="payment_method",
            )
        )
    seller_info = None
    if seller is not None:
        seller_info = SellerInfo(
            id=seller.pk,  # type: ignore[attr-defined]
            legal_name=seller.legal_name,  # type: ignore[attr-defined]
            country=seller.country_id,  # type: ignore[attr-defined]
        )
    return CartQuote(
        cart_id=cart.pk,
        market_id=market.pk,
        market_code=market.code,
        currency=currency,
        prices_include_tax=market.prices_include_tax,
        language=cart.language,
        destination_country=cart.country_id or "",
        seller=seller_info,
        lines=tuple(lines),
        subtotal=subtotal,
        shipping=shipping,
        duty=duty,
        payment_fee=payment_fee,
        total=total,
        notices=tuple(draft.notices),
        problems=tuple(draft.problems),
        tax_notes=tax_notes,
        reverse_charge=reverse_charge,
        export=export,
        vat_number=vat_number,
        exchange_rate=current_rates().get(currency),
        payment_method_code=fee_code,
        fee_base=fee_base,
    )


def fee_preview(rule: FeeRule, *, currency: str, base: Decimal) -> Decimal | None:
    """The fee ``rule`` charges on ``base`` (items and shipping) in ``currency``, as the
    market shows amounts; None when its fixed part cannot be converted."""
    draft = _Draft(lines=[], offers={}, names={}, pools={})
    amount = _fee_amount(rule, currency, base, draft)
    return None if draft.problems else amount
