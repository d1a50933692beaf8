"""Storefront JSON API for headless front ends, apps and tests: ``/api/storefront/v1/``.

The same services as the HTML pages: ``orders.cart`` for the cart,
``payments.selectors.checkout_quote`` for what the shopper pays,
``payments.services.checkout_complete`` to place the order. Every cart
call needs the cart's token (``Authorization: Bearer <token>``), returned
once when the cart is created. Errors are JSON ``{"code", "message"}``
(plus ``field`` and ``errors`` for input errors); a refused call changes
nothing. Amounts are decimal strings in the cart's currency.

The OpenAPI document is at ``/api/storefront/v1/openapi.json``.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.responses import Status
from ninja.security import HttpBearer
from pydantic import Field

from orders.cart import (
    CheckoutAddress,
    cart_create,
    cart_line_add,
    cart_line_remove,
    cart_line_set,
    cart_shipping_address_set,
    cart_shipping_method_set,
)
from orders.errors import CartError, CheckoutError
from orders.models import Cart
from orders.quote import Amounts, CartQuote
from orders.selectors import cart_for_token, cart_shipping_options
from payments.selectors import checkout_quote, payment_methods_for
from payments.services import cart_payment_method_set, checkout_complete
from pricing.money import quantize
from shop.models import Market
from shop.selectors import market_directory

# HTTP status of each refusal: conflicts with the cart's state or the stock
# are 409; everything else the caller sent is 422.
CONFLICTS = {"cart_closed", "not_enough_stock", "quote_changed"}
MAX_TEXT = 200


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, field: str = "") -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


class CartToken(HttpBearer):
    """The cart's token as a bearer token; checked against the cart in each call."""

    def authenticate(self, request: HttpRequest, token: str) -> str | None:
        return token if 0 < len(token) <= MAX_TEXT else None


api = NinjaAPI(
    title="Kervan storefront API",
    version="1",
    description="Carts and checkout for headless storefronts. "
    "Send the cart token as `Authorization: Bearer <token>`.",
    urls_namespace="storefront-api",
)


def _error(request: HttpRequest, status: int, payload: dict[str, Any]) -> HttpResponse:
    return api.create_response(request, payload, status=status)


@api.exception_handler(ApiError)
def _api_error(request: HttpRequest, error: ApiError) -> HttpResponse:
    payload: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.field:
        payload["field"] = error.field
    return _error(request, error.status, payload)


@api.exception_handler(CartError)
def _cart_error(request: HttpRequest, error: CartError) -> HttpResponse:
    payload: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.field:
        payload["field"] = error.field
    if error.errors:
        payload["errors"] = error.errors
    return _error(request, 409 if error.code in CONFLICTS else 422, payload)


@api.exception_handler(CheckoutError)
def _checkout_error(request: HttpRequest, error: CheckoutError) -> HttpResponse:
    payload = {"code": error.code, "message": error.message}
    return _error(request, 409 if error.code in CONFLICTS else 422, payload)


@api.exception_handler(NinjaValidationError)
def _invalid_input(request: HttpRequest, error: NinjaValidationError) -> HttpResponse:
    errors = {
        ".".join(str(part) for part in item.get("loc", ()) if part not in {"body", "payload"})
        or "body": item.get("msg", "")
        for item in error.errors
    }
    payload = {
        "code": "invalid_input",
        "message": gettext("The request is not valid: %(fields)s.")
        % {"fields": ", ".join(sorted(errors))},
        "errors": errors,
    }
    return _error(request, 422, payload)


@api.exception_handler(AuthenticationError)
def _unauthorized(request: HttpRequest, error: AuthenticationError) -> HttpResponse:
    payload = {
        "code": "unauthorized",
        "message": gettext("Send the cart's token as 'Authorization: Bearer <token>'."),
    }
    return _error(request, 401, payload)


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, error: HttpError) -> HttpResponse:
    payload = {"code": "bad_request", "message": str(error.message)}
    return _error(request, error.status_code, payload)


# Schemas


class Problem(Schema):
    code: str
    message: str
    field: str = ""


class Notice(Schema):
    code: str
    message: str


class ErrorOut(Schema):
    code: str
    message: str
    field: str = ""
    errors: dict[str, str] = {}


class CartCreateIn(Schema):
    market: str = Field(
        max_length=10,
        description="Storefront prefix: language and country, e.g. `de-de`, `tr-tr`, `en-us`.",
        examples=["de-de"],
    )


class CartCreatedOut(Schema):
    id: int
    token: str = Field(description="Send as `Authorization: Bearer <token>`; shown only once.")
    market: str
    language: str
    currency: str


class AmountsOut(Schema):
    net: str
    tax: str
    gross: str


class LineOut(Schema):
    id: int
    sku: str
    name: str
    quantity: int
    unit: AmountsOut
    total: AmountsOut
    tax_rate: str
    available_quantity: int


class ShippingOut(Schema):
    method_id: int
    carrier: str
    name: str
    amounts: AmountsOut


class DutyOut(Schema):
    mode: str = Field(description="`none`, `ddp` (charged now) or `dap` (due on delivery).")
    amount: str
    notice: str


class FeeOut(Schema):
    code: str
    name: str
    amounts: AmountsOut


class TotalsOut(Schema):
    subtotal: AmountsOut
    shipping: AmountsOut | None
    duty: DutyOut
    payment_fee: AmountsOut | None
    total: AmountsOut


class SellerOut(Schema):
    legal_name: str
    country: str


class CartOut(Schema):
    id: int
    status: str
    market: str
    currency: str
    prices_include_tax: bool
    language: str
    shipping_country: str
    lines: list[LineOut]
    shipping_method: ShippingOut | None
    payment_method: FeeOut | None
    totals: TotalsOut
    seller: SellerOut | None
    tax_notes: list[str]
    notices: list[Notice]
    problems: list[Problem]
    is_placeable: bool


class LineIn(Schema):
    sku: str = Field(min_length=1, max_length=64)
    quantity: int = Field(default=1, ge=1, le=999)


class LineQuantityIn(Schema):
    quantity: int = Field(ge=0, le=999, description="0 removes the line.")


class AddressIn(Schema):
    first_name: str = Field(max_length=100)
    last_name: str = Field(max_length=100)
    email: str = Field(max_length=254)
    phone: str = Field(default="", max_length=40)
    company: str = Field(default="", max_length=150)
    vat_number: str = Field(default="", max_length=40)
    line1: str = Field(max_length=200)
    line2: str = Field(default="", max_length=200)
    city: str = Field(max_length=100)
    district: str = Field(default="", max_length=100)
    postal_code: str = Field(default="", max_length=20)
    region: str = Field(default="", max_length=10, description="ISO 3166-2 code, e.g. `US-NY`.")
    country: str = Field(min_length=2, max_length=2, description="ISO 3166-1 alpha-2 code.")


class ShippingMethodOut(Schema):
    id: int
    code: str
    carrier: str
    name: str
    price: str
    currency: str
    price_includes_tax: bool
    days_min: int
    days_max: int


class ShippingMethodIn(Schema):
    id: int = Field(ge=1, le=2**31 - 1)


class PaymentMethodOut(Schema):
    code: str
    name: str
    fee: str = Field(description="Added to the total; negative for a discount.")
    currency: str
    pays_on_delivery: bool


class PaymentMethodIn(Schema):
    code: str = Field(min_length=1, max_length=40)


class CheckoutIn(Schema):
    payment_method: str = Field(min_length=1, max_length=40)
    expected_total: str | None = Field(
        default=None,
        max_length=20,
        description="The gross total the shopper saw; the order is refused if it changed.",
    )


class NextActionOut(Schema):
    kind: str = Field(
        description="`bank_transfer`, `pay_on_delivery`, `card` (confirm the payment with "
        "Stripe.js: `details` hold `publishable_key` and `client_secret`), `retry` (the card "
        "processor was not reached: pay from the order's page), `redirect` or `none`."
    )
    message: str
    details: dict[str, str]
    url: str


class OrderOut(Schema):
    number: str
    status: str
    currency: str
    total: AmountsOut
    next_action: NextActionOut


ERRORS: dict[int, type[Schema]] = {401: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


# Reading


def _amounts(amounts: Amounts) -> AmountsOut:
    return AmountsOut(net=str(amounts.net), tax=str(amounts.tax), gross=str(amounts.gross))


def _cart_out(cart: Cart, quote: CartQuote) -> CartOut:
    shipping = quote.shipping
    fee = quote.payment_fee
    return CartOut(
        id=cart.pk,
        status=cart.status,
        market=quote.market_code,
        currency=quote.currency,
        prices_include_tax=quote.prices_include_tax,
        language=quote.language,
        shipping_country=cart.country_id or "",
        lines=[
            LineOut(
                id=line.line_id,
                sku=line.sku,
                name=line.name,
                quantity=line.quantity,
                unit=_amounts(line.unit),
                total=_amounts(line.total),
                tax_rate=str(line.tax_rate),
                available_quantity=line.available_quantity,
            )
            for line in quote.lines
        ],
        shipping_method=None
        if shipping is None
        else ShippingOut(
            method_id=shipping.method_id,
            carrier=shipping.carrier,
            name=shipping.name,
            amounts=_amounts(shipping.amounts),
        ),
        payment_method=None
        if fee is None
        else FeeOut(code=fee.code, name=fee.name, amounts=_amounts(fee.amounts)),
        totals=TotalsOut(
            subtotal=_amounts(quote.subtotal),
            shipping=None if shipping is None else _amounts(shipping.amounts),
            duty=DutyOut(
                mode=quote.duty.mode,
                amount=str(quantize(quote.duty.charged, quote.currency)),
                notice=quote.duty.notice,
            ),
            payment_fee=None if fee is None else _amounts(fee.amounts),
            total=_amounts(quote.total),
        ),
        seller=None
        if quote.seller is None
        else SellerOut(legal_name=quote.seller.legal_name, country=quote.seller.country),
        tax_notes=list(quote.tax_notes),
        notices=[Notice(code=n.code, message=n.message) for n in quote.notices],
        problems=[Problem(code=p.code, message=p.message, field=p.field) for p in quote.problems],
        is_placeable=quote.is_placeable,
    )


def _cart(request: HttpRequest, cart_id: int) -> Cart:
    """The cart ``cart_id`` if the request's token opens it; 404 otherwise (no hint which)."""
    token = str(request.auth)  # type: ignore[attr-defined]
    cart = cart_for_token(cart_id, token) if 0 < cart_id <= 2**31 - 1 else None
    if cart is None:
        raise ApiError(
            404, "cart_not_found", gettext("No cart with this id opens with this token.")
        )
    return cart


def _cart_view(cart: Cart) -> CartOut:
    return _cart_out(cart, checkout_quote(cart=cart))


# Endpoints

auth = CartToken()


@api.post("/carts", response={201: CartCreatedOut, 422: ErrorOut}, tags=["cart"])
def create_cart(request: HttpRequest, payload: CartCreateIn) -> Status[CartCreatedOut]:
    """A new, empty cart in a storefront (market, country and language)."""
    resolved = market_directory().resolve_prefix(payload.market.lower())
    if resolved is None:
        raise ApiError(
            422,
            "unknown_market",
            gettext("No storefront answers to %(prefix)s; use e.g. de-de or tr-tr.")
            % {"prefix": payload.market},
            field="market",
        )
    info, _country, language = resolved
    market = Market.objects.get(pk=info.id)
    cart, token = cart_create(market=market, language=language)
    created = CartCreatedOut(
        id=cart.pk, token=token, market=market.code, language=language, currency=market.currency
    )
    return Status(201, created)


@api.get("/carts/{cart_id}", response={200: CartOut, **ERRORS}, auth=auth, tags=["cart"])
def get_cart(request: HttpRequest, cart_id: int) -> CartOut:
    """Lines and what the shopper pays: items, shipping, duty, payment fee, total."""
    return _cart_view(_cart(request, cart_id))


@api.post("/carts/{cart_id}/lines", response={201: CartOut, **ERRORS}, auth=auth, tags=["cart"])
def add_line(request: HttpRequest, cart_id: int, payload: LineIn) -> Status[CartOut]:
    """Add a variant by SKU (adds to the quantity of a line already there)."""
    cart = _cart(request, cart_id)
    cart_line_add(cart=cart, sku=payload.sku, quantity=payload.quantity)
    return Status(201, _cart_view(cart))


@api.patch(
    "/carts/{cart_id}/lines/{line_id}", response={200: CartOut, **ERRORS}, auth=auth, tags=["cart"]
)
def set_line(request: HttpRequest, cart_id: int, line_id: int, payload: LineQuantityIn) -> CartOut:
    """Change a line's quantity; 0 removes it."""
    cart = _cart(request, cart_id)
    cart_line_set(cart=cart, line_id=line_id, quantity=payload.quantity)
    return _cart_view(cart)


@api.delete(
    "/carts/{cart_id}/lines/{line_id}", response={200: CartOut, **ERRORS}, auth=auth, tags=["cart"]
)
def remove_line(request: HttpRequest, cart_id: int, line_id: int) -> CartOut:
    cart = _cart(request, cart_id)
    cart_line_remove(cart=cart, line_id=line_id)
    return _cart_view(cart)


@api.put(
    "/carts/{cart_id}/shipping-address",
    response={200: CartOut, **ERRORS},
    auth=auth,
    tags=["checkout"],
)
def set_shipping_address(request: HttpRequest, cart_id: int, payload: AddressIn) -> CartOut:
    """Contact and shipping address. A country of another market re-prices the cart in
    that market; the answer's notices then show the old and new totals."""
    cart = _cart(request, cart_id)
    cart_shipping_address_set(cart=cart, address=CheckoutAddress(**payload.model_dump()))
    return _cart_view(cart)


@api.get(
    "/carts/{cart_id}/shipping-methods",
    response={200: list[ShippingMethodOut], **ERRORS},
    auth=auth,
    tags=["checkout"],
)
def list_shipping_methods(request: HttpRequest, cart_id: int) -> list[ShippingMethodOut]:
    """The methods that deliver to the cart's address with its weight, cheapest first."""
    cart = _cart(request, cart_id)
    if not cart.has_address:
        raise ApiError(
            422, "no_address", gettext("Enter the shipping address first."), field="address"
        )
    return [
        ShippingMethodOut(
            id=option.method_id,
            code=option.code,
            carrier=option.carrier,
            name=option.name,
            price=str(option.price),
            currency=option.currency,
            price_includes_tax=option.price_includes_tax,
            days_min=option.days_min,
            days_max=option.days_max,
        )
        for option in cart_shipping_options(cart=cart)
    ]


@api.put(
    "/carts/{cart_id}/shipping-method",
    response={200: CartOut, **ERRORS},
    auth=auth,
    tags=["checkout"],
)
def set_shipping_method(request: HttpRequest, cart_id: int, payload: ShippingMethodIn) -> CartOut:
    cart = _cart(request, cart_id)
    cart_shipping_method_set(cart=cart, method_id=payload.id)
    return _cart_view(cart)


@api.get(
    "/carts/{cart_id}/payment-methods",
    response={200: list[PaymentMethodOut], **ERRORS},
    auth=auth,
    tags=["checkout"],
)
def list_payment_methods(request: HttpRequest, cart_id: int) -> list[PaymentMethodOut]:
    """The methods this cart may be paid with, each with its fee (or discount)."""
    cart = _cart(request, cart_id)
    return [
        PaymentMethodOut(
            code=offer.code,
            name=offer.name,
            fee=str(offer.fee),
            currency=offer.currency,
            pays_on_delivery=offer.pays_on_delivery,
        )
        for offer in payment_methods_for(cart=cart)
    ]


@api.put(
    "/carts/{cart_id}/payment-method",
    response={200: CartOut, **ERRORS},
    auth=auth,
    tags=["checkout"],
)
def set_payment_method(request: HttpRequest, cart_id: int, payload: PaymentMethodIn) -> CartOut:
    """Choose a payment method; its fee or discount shows in the totals."""
    cart = _cart(request, cart_id)
    cart_payment_method_set(cart=cart, code=payload.code)
    return _cart_view(cart)


@api.post(
    "/carts/{cart_id}/checkout",
    response={201: OrderOut, **ERRORS},
    auth=auth,
    tags=["checkout"],
)
def checkout(request: HttpRequest, cart_id: int, payload: CheckoutIn) -> Status[OrderOut]:
    """Place the order: stock is reserved and the payment started; the answer says
    what the shopper must do next (e.g. the bank details for a transfer)."""
    cart = _cart(request, cart_id)
    expected = None
    if payload.expected_total is not None:
        try:
            expected = Decimal(payload.expected_total)
        except InvalidOperation:
            expected = None
        if expected is None or not expected.is_finite():
            raise ApiError(
                422,
                "invalid_input",
                gettext("expected_total must be a decimal amount such as 65.70."),
                field="expected_total",
            )
    result = checkout_complete(
        cart=cart, payment_method_code=payload.payment_method, expected_total=expected
    )
    order = result.order
    action = result.next_action
    out = OrderOut(
        number=order.number,
        status=order.status,
        currency=order.currency,
        total=AmountsOut(
            net=str(order.total_net), tax=str(order.total_tax), gross=str(order.total_gross)
        ),
        next_action=NextActionOut(
            kind=action.kind,
            message=action.message,
            details={key: str(value) for key, value in action.details.items()},
            url=action.url,
        ),
    )
    return Status(201, out)
