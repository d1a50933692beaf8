"""Reads for checkout: the payment methods a cart may use, and the full quote."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal

from django.db.models import QuerySet
from django.utils.translation import gettext

from orders.models import Cart, Order
from orders.quote import (
    CartQuote,
    ConversionError,
    FeeRule,
    Problem,
    cart_quote,
    cart_quote_and_fee,
    cart_quote_at_offer_prices,
    cart_quote_pricer,
    exchange_convert,
    fee_preview,
    in_cart_language,
)
from payments.gateways import GatewayError, gateway_for
from payments.models import Payment, PaymentMethod
from shop import versions
from shop.config_cache import config_cached


@dataclass(frozen=True)
class PaymentMethodOffer:
    """A payment method as the checkout shows it: ``fee`` is negative for a discount,
    in the cart's currency, as the market shows amounts (gross or net)."""

    code: str
    name: str
    gateway: str
    fee: Decimal
    currency: str
    pays_on_delivery: bool


def fee_rule(method: PaymentMethod, language: str) -> FeeRule:
    try:
        pays_on_delivery = gateway_for(method.gateway).pays_on_delivery
    except GatewayError:
        pays_on_delivery = False
    return FeeRule(
        code=method.code,
        name=method.name_in(language),
        fixed=method.fee_fixed,
        fixed_currency=method.amounts_currency,
        percent=method.fee_percent,
        pays_on_delivery=pays_on_delivery,
    )


def payment_methods_changed() -> None:
    """Payment methods changed: checkout reads them again once the transaction commits."""
    versions.retire(versions.PAYMENTS)


def _candidates(cart: Cart) -> tuple[PaymentMethod, ...]:
    """The market's active methods in order (kept until a method changes; read-only)."""
    market_id = cart.pricing_market_id
    return config_cached(
        versions.PAYMENTS,
        f"methods:{market_id}",
        lambda: tuple(
            PaymentMethod.objects.filter(is_active=True, markets=market_id).order_by(
                "position", "code"
            )
        ),
    )


def _fits(method: PaymentMethod, cart: Cart, total: Decimal) -> bool:
    currency = cart.pricing_market.currency
    if method.currencies and currency not in method.currencies:
        return False
    if method.countries and (cart.country_id or "") not in method.countries:
        return False
    try:
        gateway = gateway_for(method.gateway)
    except GatewayError:
        return False
    if not gateway.is_available(seller_id=cart.pricing_market.seller_id):
        return False  # e.g. no Stripe keys for the seller: cards are simply not offered
    for limit, fits in (
        (method.min_order_amount, lambda bound: total >= bound),
        (method.max_order_amount, lambda bound: total <= bound),
    ):
        if limit is None:
            continue
        try:
            bound = exchange_convert(limit, method.amounts_currency, currency)
        except ConversionError:
            return False
        if not fits(bound):
            return False
    return True


def _base_quote(cart: Cart) -> CartQuote:
    """The cart without a payment fee: what limits and percentage fees apply to."""
    return cart_quote(cart=cart) if cart.has_address else cart_quote_at_offer_prices(cart=cart)


def _available(cart: Cart, base: CartQuote) -> list[PaymentMethod]:
    total = base.total.gross
    return [method for method in _candidates(cart) if _fits(method, cart, total)]


@in_cart_language
def payment_methods_for(*, cart: Cart) -> list[PaymentMethodOffer]:
    """The methods the cart may be paid with (market, currency, country, amount), in order.

    With an address, each method's fee is what review will show with it (the
    cart priced with the fee, taxed like the rest); before an address, a
    preview on the items as shown."""
    if cart.has_address:
        base, with_fee = cart_quote_pricer(cart=cart)
    else:
        base, with_fee = cart_quote_at_offer_prices(cart=cart), None
    currency = cart.pricing_market.currency
    offers = []
    for method in _available(cart, base):
        rule = fee_rule(method, cart.language)
        fee = _fee_shown(rule, base, with_fee)
        if fee is None:
            continue
        offers.append(
            PaymentMethodOffer(
                code=method.code,
                name=rule.name,
                gateway=method.gateway,
                fee=fee,
                currency=currency,
                pays_on_delivery=rule.pays_on_delivery,
            )
        )
    return offers


def _fee_shown(
    rule: FeeRule, base: CartQuote, with_fee: Callable[[FeeRule], CartQuote] | None
) -> Decimal | None:
    """The fee as the market shows amounts; None when the method cannot take the cart."""
    if with_fee is None or not (rule.fixed or rule.percent):
        return fee_preview(rule, currency=base.currency, base=base.fee_base)
    quoted = with_fee(rule)
    if quoted.payment_fee is None or "payment_method_unavailable" in quoted.problem_codes():
        return None
    amounts = quoted.payment_fee.amounts
    return amounts.gross if quoted.prices_include_tax else amounts.net


def payment_method_for_cart(*, cart: Cart, code: str) -> PaymentMethod | None:
    """The active method ``code`` if the cart may use it, else None."""
    if not isinstance(code, str) or not code or len(code) > 40:
        return None
    base = _base_quote(cart)
    return next((m for m in _available(cart, base) if m.code == code), None)


@in_cart_language
def checkout_quote(*, cart: Cart) -> CartQuote:
    """Everything the shopper pays with the chosen payment method's fee (if any):
    lines, shipping, duty, fee, tax and total, with notices and problems."""
    return checkout_quote_for(cart=cart, code=cart.payment_method_code)[0]


def checkout_quote_for(*, cart: Cart, code: str) -> tuple[CartQuote, PaymentMethod | None]:
    """``checkout_quote`` as if method ``code`` were chosen, and the method.

    The method is None when the cart may not use it (the quote then carries
    the ``payment_method_unavailable`` problem) or when ``code`` is empty.
    The cart is priced once: the fee's base and limits come from the same
    reading of lines, stock and shipping as the quote.
    """
    if not code:
        return cart_quote(cart=cart), None
    chosen: list[PaymentMethod] = []

    def fee_for(base: CartQuote) -> FeeRule | None:
        if not isinstance(code, str) or len(code) > 40:
            return None
        method = next((m for m in _available(cart, base) if m.code == code), None)
        if method is None:
            return None
        chosen.append(method)
        return fee_rule(method, cart.language)

    base, quote = cart_quote_and_fee(cart=cart, fee_for=fee_for)
    if quote is None:
        problem = Problem(
            "payment_method_unavailable",
            gettext("The chosen payment method is not available for this order."),
            field="payment_method",
        )
        return replace(base, problems=(*base.problems, problem)), None
    return quote, chosen[0]


def order_payments(order: Order) -> QuerySet[Payment]:
    return Payment.objects.filter(order=order).select_related("method").order_by("pk")
