"""Cart services: lines, the shipping address (which may move the cart to another
market's prices) and the shipping method. Every refusal raises ``CartError``
and leaves the cart as it was."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F, Max
from django.db.models.functions import Greatest
from django.utils.translation import gettext

from catalog.models import Variant
from orders.errors import CartError
from orders.models import Cart, CartLine, token_hash
from orders.quote import (
    CartQuote,
    cart_price_context,
    cart_quote_at_offer_prices,
    in_cart_language,
)
from orders.selectors import cart_markets_attach, cart_shipping_options
from pricing.checkout_tax import vat_number_check
from pricing.models import StockLevel
from pricing.offers import Availability, PriceContext, offers_for
from pricing.selectors import market_pricing
from shipping.selectors import Destination, destination_check
from shop.models import Country, Customer, Market, Region
from shop.selectors import market_directory

MAX_QUANTITY = 999


@dataclass(frozen=True)
class CheckoutAddress:
    """Contact and shipping address as the shopper typed them."""

    first_name: str
    last_name: str
    email: str
    line1: str
    city: str
    country: str
    phone: str = ""
    company: str = ""
    vat_number: str = ""
    line2: str = ""
    district: str = ""
    postal_code: str = ""
    region: str = ""  # ISO 3166-2 code, e.g. "US-NY"


@dataclass(frozen=True)
class CartRepricing:
    """What setting the address did to the prices (tell the shopper when ``repriced``)."""

    repriced: bool
    old_market: str
    new_market: str
    old_total: Decimal
    new_total: Decimal
    old_currency: str
    new_currency: str
    message: str = ""


def cart_create(
    *, market: Market, language: str, customer: Customer | None = None
) -> tuple[Cart, str]:
    """A new empty cart; returns it with its raw token (shown once, stored hashed)."""
    if language not in market.languages:
        raise CartError(
            "invalid_language",
            gettext("%(language)s is not a language of %(market)s.")
            % {"language": language, "market": market.name},
            field="language",
        )
    token = secrets.token_urlsafe(32)
    cart = Cart.objects.create(
        market=market,
        pricing_market=market,
        language=language,
        customer=customer,
        token_hash=token_hash(token),
    )
    return cart, token


def _locked(cart: Cart) -> Cart:
    """The cart's row locked for this transaction, and ``cart`` refreshed from it (so
    what a concurrent change committed is not overwritten); refuses carts already ordered."""
    try:
        cart.refresh_from_db(from_queryset=Cart.objects.select_for_update())
    except Cart.DoesNotExist:
        cart.status = Cart.Status.ORDERED
    if cart.status != Cart.Status.OPEN:
        raise CartError("cart_closed", gettext("This cart has already been ordered."))
    cart_markets_attach(cart)  # refreshing dropped them
    return cart


def _valid_quantity(quantity: object) -> int:
    if (
        not isinstance(quantity, int)
        or isinstance(quantity, bool)
        or not 1 <= quantity <= MAX_QUANTITY
    ):
        raise CartError(
            "invalid_quantity",
            gettext("The quantity must be a whole number from 1 to %(max)s.")
            % {"max": MAX_QUANTITY},
            field="quantity",
        )
    return quantity


def _best_pool_free(variant_id: int, market_id: int) -> int:
    """The most units of the variant free in one of the market's pools: what one line
    can have, since a line is reserved in a single pool."""
    best = StockLevel.objects.filter(
        variant_id=variant_id, pool_id__in=market_pricing(market_id).pool_ids
    ).aggregate(best=Max(Greatest(F("quantity") - F("reserved"), 0)))["best"]
    return int(best or 0)


def _check_offer(cart: Cart, variant: Variant, quantity: int, context: PriceContext) -> None:
    offer = offers_for([variant.pk], context)[variant.pk]
    if offer.availability == Availability.NOT_SOLD:
        raise CartError(
            "not_sold_here",
            gettext("%(sku)s is not sold in this market.") % {"sku": variant.sku},
            field="sku",
        )
    if variant.allows_backorder:
        return
    available = min(offer.available_quantity, _best_pool_free(variant.pk, context.market_id))
    if quantity > available:
        if available <= 0:
            message = gettext("%(sku)s is out of stock.") % {"sku": variant.sku}
        else:
            message = gettext("Only %(available)s of %(sku)s are available.") % {
                "available": available,
                "sku": variant.sku,
            }
        raise CartError("not_enough_stock", message, field="quantity")


@in_cart_language
def cart_line_add(*, cart: Cart, sku: str, quantity: int) -> CartLine:
    """Add ``quantity`` of the variant ``sku`` (to its line, if the cart has one)."""
    quantity = _valid_quantity(quantity)
    clean_sku = sku.strip().upper() if isinstance(sku, str) else ""
    variant = (
        Variant.objects.filter(sku=clean_sku, is_active=True).select_related("product").first()
        if clean_sku and "\x00" not in clean_sku and len(clean_sku) <= 64
        else None
    )
    if variant is None:
        raise CartError(
            "unknown_sku", gettext("There is no item %(sku)s.") % {"sku": sku[:64]}, field="sku"
        )
    context = cart_price_context(cart)
    if not variant.product.is_shown_in(context.country):
        raise CartError(
            "not_sold_here",
            gettext("%(sku)s is not sold in this market.") % {"sku": variant.sku},
            field="sku",
        )
    with transaction.atomic():
        _locked(cart)
        line = CartLine.objects.filter(cart=cart, variant=variant).first()
        total = quantity + (line.quantity if line else 0)
        if total > MAX_QUANTITY:
            _valid_quantity(total)
        _check_offer(cart, variant, total, context)
        if line is None:
            line = CartLine.objects.create(cart=cart, variant=variant, quantity=total)
        else:
            line.quantity = total
            line.save(update_fields=["quantity"])
        _touch(cart)
    return line


@in_cart_language
def cart_line_set(*, cart: Cart, line_id: int, quantity: int) -> CartLine | None:
    """Set a line's quantity; 0 removes the line (and returns None)."""
    if quantity == 0 and not isinstance(quantity, bool):
        cart_line_remove(cart=cart, line_id=line_id)
        return None
    quantity = _valid_quantity(quantity)
    with transaction.atomic():
        _locked(cart)
        line = _line(cart, line_id)
        _check_offer(cart, line.variant, quantity, cart_price_context(cart))
        line.quantity = quantity
        line.save(update_fields=["quantity"])
        _touch(cart)
    return line


@in_cart_language
def cart_line_remove(*, cart: Cart, line_id: int) -> None:
    with transaction.atomic():
        _locked(cart)
        _line(cart, line_id).delete()
        _touch(cart)


def _line(cart: Cart, line_id: int) -> CartLine:
    line = (
        CartLine.objects.filter(cart=cart, pk=line_id).select_related("variant").first()
        if isinstance(line_id, int) and not isinstance(line_id, bool) and 0 < line_id < 2**63
        else None
    )
    if line is None:
        raise CartError("unknown_line", gettext("This cart has no such line."), field="line")
    return line


def _touch(cart: Cart) -> None:
    cart.save(update_fields=["updated_at"])


_LIMITS = {
    "first_name": 100,
    "last_name": 100,
    "email": 254,
    "phone": 40,
    "company": 150,
    "vat_number": 40,
    "line1": 200,
    "line2": 200,
    "city": 100,
    "district": 100,
    "postal_code": 20,
    "region": 10,
    "country": 2,
}
_REQUIRED = ("first_name", "last_name", "email", "line1", "city", "country")


def address_errors(address: CheckoutAddress) -> tuple[dict[str, str], CheckoutAddress]:
    """Field → message for everything wrong with ``address`` by the country's rules,
    and the address normalised (trimmed, upper-case codes)."""
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    for item in fields(CheckoutAddress):
        raw = getattr(address, item.name)
        value = raw.strip() if isinstance(raw, str) else ""
        if "\x00" in value:
            errors[item.name] = gettext("This field contains characters that are not allowed.")
        elif len(value) > _LIMITS[item.name]:
            errors[item.name] = gettext("This is too long (at most %(limit)s characters).") % {
                "limit": _LIMITS[item.name]
            }
        elif not value and item.name in _REQUIRED:
            errors[item.name] = gettext("This field is required.")
        values[item.name] = value
    values["country"] = values["country"].upper()
    values["postal_code"] = values["postal_code"].upper()
    values["region"] = values["region"].upper()
    values["vat_number"] = values["vat_number"].replace(" ", "").upper()
    if "email" not in errors:
        try:
            validate_email(values["email"])
        except ValidationError:
            errors["email"] = gettext("Enter a valid e-mail address.")
    country = (
        Country.objects.filter(code=values["country"]).first() if "country" not in errors else None
    )
    if country is None:
        errors.setdefault("country", gettext("Choose a country."))
    else:
        _country_rules(country, values, errors)
    return errors, CheckoutAddress(**values)


def _country_rules(country: Country, values: dict[str, str], errors: dict[str, str]) -> None:
    postal_code_error = country.postal_code_error(values["postal_code"])
    if postal_code_error and "postal_code" not in errors:
        errors["postal_code"] = postal_code_error
    region = values["region"]
    if "region" in errors:
        return
    if region:
        if not Region.objects.filter(code=region, country=country, is_active=True).exists():
            errors["region"] = gettext("This region is not in %(country)s.") % {
                "country": country.name
            }
    elif country.requires_region:
        errors["region"] = gettext("Choose a region for %(country)s.") % {"country": country.name}


def _shown_total(quote: CartQuote) -> Decimal:
    return quote.subtotal.gross if quote.prices_include_tax else quote.subtotal.net


@in_cart_language
def cart_shipping_address_set(*, cart: Cart, address: CheckoutAddress) -> CartRepricing:
    """Check and store the contact and shipping address.

    The country must be one the shop delivers to. When it belongs to another
    market, the cart is re-priced in that market (currency, price list, tax
    display); the result says so, with the totals before and after. The
    shipping method must be chosen again after the country changes.
    """
    errors, clean = address_errors(address)
    if errors:
        field, message = next(iter(errors.items()))
        raise CartError("invalid_address", message, field=field).with_errors(errors)

    market_info = market_directory().market_for_country(clean.country)
    if market_info is None:
        raise CartError(
            "not_deliverable",
            gettext("We do not deliver to this country."),
            field="country",
        )

    check = destination_check(
        Destination(
            country=clean.country,
            region=clean.region,
            city=clean.city,
            district=clean.district,
            postal_code=clean.postal_code,
        )
    )
    if not check.ok:
        raise CartError(
            "not_deliverable",
            check.message or gettext("We do not deliver to this address."),
            field=check.field or "country",
        )
    if clean.vat_number:
        vat = vat_number_check(clean.vat_number, country=clean.country)
        if not vat.valid:
            raise CartError("invalid_vat_number", vat.message, field="vat_number")

    with transaction.atomic():
        _locked(cart)
        old_market = cart.pricing_market
        before = cart_quote_at_offer_prices(cart=cart)
        new_market = (
            old_market
            if market_info.id == old_market.pk
            else Market.objects.select_related("seller").get(pk=market_info.id)
        )
        repriced = new_market.pk != old_market.pk
        country_changed = cart.country_id != clean.country
        cart.first_name, cart.last_name = clean.first_name, clean.last_name
        cart.email, cart.phone, cart.company = clean.email, clean.phone, clean.company
        cart.vat_number = clean.vat_number
        cart.line1, cart.line2, cart.city = clean.line1, clean.line2, clean.city
        cart.district, cart.postal_code = clean.district, clean.postal_code
        cart.region_code, cart.country_id = clean.region, clean.country
        if country_changed:
            cart.shipping_method_id = None
        if repriced:
            cart.pricing_market = new_market
            cart.payment_method_code = ""
            cart.repriced_from = old_market
            cart.repriced_old_total = _shown_total(before)
        after = cart_quote_at_offer_prices(cart=cart)
        unsold = [p for p in after.problems if p.code == "not_sold_here"]
        if repriced and unsold:
            cart.refresh_from_db()
            raise CartError(
                "not_sold_here",
                gettext("Some items cannot be delivered to this country: %(problems)s")
                % {"problems": " ".join(p.message for p in unsold)},
                field="country",
            )
        cart.save()
    result = CartRepricing(
        repriced=repriced,
        old_market=old_market.code,
        new_market=new_market.code,
        old_total=_shown_total(before),
        new_total=_shown_total(after),
        old_currency=old_market.currency,
        new_currency=new_market.currency,
    )
    if not repriced:
        return result
    message = gettext(
        "Your order ships to %(country)s, so it is priced in %(market)s's prices: "
        "%(new_total)s %(new_currency)s instead of %(old_total)s %(old_currency)s."
    ) % {
        "country": clean.country,
        "market": new_market.name,
        "new_total": result.new_total,
        "new_currency": result.new_currency,
        "old_total": result.old_total,
        "old_currency": result.old_currency,
    }
    return replace(result, message=message)


@in_cart_language
def cart_shipping_method_set(*, cart: Cart, method_id: int) -> None:
    """Choose one of the shipping methods offered for the cart's address and contents."""
    if not cart.has_address:
        raise CartError("no_address", gettext("Enter the shipping address first."), field="address")

    offered = {option.method_id for option in cart_shipping_options(cart=cart)}
    if method_id not in offered:
        raise CartError(
            "unknown_shipping_method",
            gettext("This shipping method is not available for your address."),
            field="shipping_method",
        )
    with transaction.atomic():
        _locked(cart)
        cart.shipping_method_id = method_id
        cart.save(update_fields=["shipping_method_id", "updated_at"])


@in_cart_language
def cart_payment_method_record(*, cart: Cart, code: str) -> None:
    """Store the chosen payment method (``payments`` checks it is offered first)."""
    with transaction.atomic():
        _locked(cart)
        cart.payment_method_code = code
        cart.save(update_fields=["payment_method_code", "updated_at"])


def cart_merge(*, into: Cart, carts: Sequence[Cart]) -> list[str]:
    """Move the lines of ``carts`` (a customer's carts from other visits) into ``into``
    (the cart this browser holds) and delete them; quantities of one SKU add up.

    A line that cannot be added here (not sold in this market, not enough
    stock) is left out; its SKU is returned so the shopper can be told.
    """
    left_out = []
    with transaction.atomic():
        for cart in carts:
            if cart.pk == into.pk:
                continue
            for line in cart.lines.select_related("variant").order_by("pk"):
                existing = into.lines.filter(variant_id=line.variant_id).first()
                wanted = line.quantity + (existing.quantity if existing else 0)
                try:
                    if existing is None:
                        cart_line_add(cart=into, sku=line.variant.sku, quantity=line.quantity)
                    else:
                        cart_line_set(
                            cart=into, line_id=existing.pk, quantity=min(wanted, MAX_QUANTITY)
                        )
                except CartError:
                    left_out.append(line.variant.sku)
            cart.delete()
    return left_out
