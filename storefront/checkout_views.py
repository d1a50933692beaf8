"""The shopper's cart and checkout pages.

Every page works without JavaScript; none is ever cached (they show one
shopper's cart). Views only translate form posts into calls of the cart and
checkout services (``orders.cart``, ``payments.services``) and show their
messages; every rule lives there.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from invoicing.pdf import document_filename, invoice_pdf
from invoicing.services import InvoicingError, proforma_for_cart
from orders.address_book import (
    AddressBookError,
    address_book,
    address_book_default,
    address_book_entry,
    address_book_save,
)
from orders.address_book import address_values as address_values_of
from orders.cart import (
    cart_create,
    cart_line_add,
    cart_line_remove,
    cart_line_set,
    cart_shipping_address_set,
    cart_shipping_method_set,
)
from orders.errors import CartError, CheckoutError, NotEnoughStock, QuoteChanged
from orders.models import Cart, Order, OrderStatus
from orders.quote import cart_quote_at_offer_prices
from orders.selectors import (
    cart_line_count,
    cart_shipping_options,
    order_for_number,
    order_shipments,
)
from payments.gateways import NextAction
from payments.models import Payment, PaymentStatus
from payments.selectors import checkout_quote, order_payments, payment_methods_for
from payments.services import (
    PaymentError,
    cart_payment_method_set,
    checkout_complete,
    payment_resume,
    payment_sync,
)
from shop.context import MarketContext
from shop.models import Customer, Market
from storefront.accounts import customer_of
from storefront.address_form import (
    address_form,
    address_from_values,
    address_values,
    cart_address_values,
    country_name,
)
from storefront.cart_cookies import (
    CART_COOKIE,
    COUNT_COOKIE,
    cart_count_set,
    cart_forget,
    cart_remember,
    order_access_allowed,
    order_access_key,
    request_cart,
)

STEPS = ("address", "shipping", "payment", "review")


def _context(request: HttpRequest) -> MarketContext:
    context: MarketContext | None = getattr(request, "market_context", None)
    if context is None:
        raise Http404
    return context


def _whole_number(raw: object, default: int = -1) -> int:
    """A posted whole number; ``default`` for anything else (the service explains)."""
    text = raw.strip() if isinstance(raw, str) else ""
    if not text.isdigit() or len(text) > 18:
        return default
    return int(text)


def _is_cross_site(request: HttpRequest) -> bool:
    """A post sent by another site's page (its browser says so, or its Origin does)."""
    if request.META.get("HTTP_SEC_FETCH_SITE", "") == "cross-site":
        return True
    origin = request.META.get("HTTP_ORIGIN")
    if origin is None:
        return False
    if origin in settings.CSRF_TRUSTED_ORIGINS:
        return False
    try:
        return urlsplit(origin).netloc.lower() != request.get_host().lower()
    except ValueError:
        return True


def _refresh_count(response: HttpResponse, cart: Cart) -> HttpResponse:
    cart_count_set(response, cart_line_count(cart))
    return response


# --- Cart ---------------------------------------------------------------------------------------


@csrf_exempt
@require_POST
def cart_add(request: HttpRequest, prefix: str) -> HttpResponse:
    """Add a variant to the browser's cart (creating the cart in this market).

    Product pages are cached for every visitor, so their form carries no
    per-visitor CSRF token; posts from other sites are refused instead, and
    the cart cookie is SameSite=Lax.
    """
    context = _context(request)
    if _is_cross_site(request):
        return HttpResponseForbidden(_("Items can only be added from this shop's pages."))
    cart_url = context.url("/cart/")
    cart = request_cart(request)
    if cart is not None and context.market.id not in (cart.market_id, cart.pricing_market_id):
        # A cart of another market is kept as it is; this market gets its own.
        cart = None
    token = ""
    try:
        with transaction.atomic():
            if cart is None:
                market = Market.objects.get(pk=context.market.id)
                cart, token = cart_create(
                    market=market,
                    language=context.language,
                    customer=_signed_in_customer(request, context),
                )
            line = cart_line_add(
                cart=cart,
                sku=request.POST.get("sku", ""),
                quantity=_whole_number(request.POST.get("quantity", "1")),
            )
    except CartError as error:
        messages.error(request, error.message)
        return redirect(cart_url)
    messages.success(
        request,
        _("%(sku)s is in your cart (%(quantity)s).")
        % {"sku": line.variant.sku, "quantity": line.quantity},
    )
    response = redirect(cart_url)
    if token:
        cart_remember(response, cart=cart, token=token)
    return _refresh_count(response, cart)


@never_cache
def cart_page(request: HttpRequest, prefix: str) -> HttpResponse:
    """Lines with prices and quantities, the subtotal and what stops an order."""
    context = _context(request)
    cart = request_cart(request)
    quote = cart_quote_at_offer_prices(cart=cart) if cart is not None else None
    orphans = []
    if quote is not None:
        # Lines that have no price here (not sold in this market) can only be removed.
        priced = {f"line:{line.line_id}" for line in quote.lines}
        orphans = [
            (int(problem.field.split(":")[1]), problem.message)
            for problem in quote.problems
            if problem.field.startswith("line:") and problem.field not in priced
        ]
    line_problems = {
        problem.field: problem.message
        for problem in (quote.problems if quote else ())
        if problem.field.startswith("line:")
    }
    lines = (
        [(line, line_problems.get(f"line:{line.line_id}", "")) for line in quote.lines]
        if quote
        else []
    )
    response = render(
        request,
        "storefront/cart.html",
        {
            "cart": cart,
            "quote": quote,
            "lines": lines,
            "orphans": orphans,
            "general_problems": [
                problem
                for problem in (quote.problems if quote else ())
                if not problem.field.startswith("line:") and problem.code != "empty_cart"
            ],
            "is_empty": quote is None or not (quote.lines or orphans),
            "other_market": cart is not None
            and context.market.id not in (cart.market_id, cart.pricing_market_id),
            "noindex": True,
        },
    )
    if cart is None and (CART_COOKIE in request.COOKIES or COUNT_COOKIE in request.COOKIES):
        cart_forget(response)
    elif quote is not None:
        units = sum(line.quantity for line in quote.lines)
        if request.COOKIES.get(COUNT_COOKIE, "") != (str(units) if units else ""):
            cart_count_set(response, units)
    return response


@require_POST
def cart_update(request: HttpRequest, prefix: str) -> HttpResponse:
    """Change a line's quantity (0 removes it) or remove it."""
    context = _context(request)
    response = redirect(context.url("/cart/"))
    cart = request_cart(request)
    if cart is None:
        messages.error(request, _("Your cart has expired. Please add the items again."))
        cart_forget(response)
        return response
    line_id = _whole_number(request.POST.get("line"), default=0)
    try:
        if "remove" in request.POST:
            cart_line_remove(cart=cart, line_id=line_id)
            messages.success(request, _("The item was removed from your cart."))
        else:
            quantity = _whole_number(request.POST.get("quantity"))
            cart_line_set(cart=cart, line_id=line_id, quantity=quantity)
            messages.success(request, _("Your cart was updated."))
    except CartError as error:
        messages.error(request, error.message)
    return _refresh_count(response, cart)


# --- Checkout -----------------------------------------------------------------------------------


def _checkout_cart(
    request: HttpRequest, context: MarketContext, *, after: str = ""
) -> Cart | HttpResponse:
    """The cart to check out, or the way back to the first step it has not done yet.

    ``after`` names the step the page follows (``address``, ``shipping`` or
    ``payment``): each earlier step must have been done; an empty cart goes
    back to the cart page."""
    cart = request_cart(request)
    if cart is None or not cart.lines.exists():
        messages.info(request, _("Your cart is empty."))
        return redirect(context.url("/cart/"))
    earlier = (
        ("address", cart.has_address, "/checkout/"),
        ("shipping", cart.shipping_method_id is not None, "/checkout/shipping/"),
        ("payment", bool(cart.payment_method_code), "/checkout/payment/"),
    )
    for step, done, path in earlier if after else ():
        if not done:
            return redirect(context.url(path))
        if step == after:
            break
    return cart


def _step(request: HttpRequest, template: str, step: str, data: dict[str, object]) -> HttpResponse:
    context = _context(request)
    steps = [
        {
            "code": code,
            "label": label,
            "url": context.url(path),
            "current": code == step,
            "done": STEPS.index(code) < STEPS.index(step),
        }
        for code, label, path in (
            ("address", _("Address"), "/checkout/"),
            ("shipping", _("Shipping"), "/checkout/shipping/"),
            ("payment", _("Payment"), "/checkout/payment/"),
            ("review", _("Review"), "/checkout/review/"),
        )
    ]
    return render(request, template, {**data, "steps": steps, "step": step, "noindex": True})


@never_cache
@require_http_methods(["GET", "POST"])
def checkout_address(request: HttpRequest, prefix: str) -> HttpResponse:
    """Contact and shipping address; the form follows the chosen country.

    ``?country=XX`` (or a post with ``refresh``, which JavaScript sends when
    the country changes) shows the form for another country without saving.
    """
    context = _context(request)
    cart = _checkout_cart(request, context)
    if isinstance(cart, HttpResponse):
        return cart
    default_country = cart.country_id or context.country
    customer = _signed_in_customer(request, context)
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = address_values(request.POST)
        saved = (
            address_book_entry(customer, request.POST["saved_address"])
            if customer is not None and "saved_address" in request.POST
            else None
        )
        if saved is not None:
            values = {**vars(address_values_of(saved, email=cart.email or _email(request)))}
        if "refresh" not in request.POST:
            try:
                repricing = cart_shipping_address_set(
                    cart=cart, address=address_from_values(values)
                )
            except CartError as error:
                errors = error.errors or {"__all__": error.message}
            else:
                if repricing.repriced:
                    messages.warning(request, repricing.message)
                if customer is not None and saved is None and "save_address" in request.POST:
                    _remember_address(request, customer, values)
                return redirect(context.url("/checkout/shipping/"))
    else:
        values = cart_address_values(cart)
        if customer is not None and not cart.has_address:
            values = _customer_values(request, customer, values)
        if "country" in request.GET:
            values["country"] = request.GET.get("country", "")[:2]
    form = address_form(
        values=values, language=context.language, default_country=default_country, errors=errors
    )
    book = address_book(customer) if customer is not None else []
    return _step(
        request,
        "storefront/checkout_address.html",
        "address",
        {
            "form": form,
            "saved_addresses": [
                (address, country_name(address.country_id, context.language)) for address in book
            ],
            "can_save": customer is not None,
        },
    )


def _signed_in_customer(request: HttpRequest, context: MarketContext) -> Customer | None:
    if not request.user.is_authenticated:
        return None
    return customer_of(request.user, context.language)


def _customer_values(
    request: HttpRequest, customer: Customer, values: dict[str, str]
) -> dict[str, str]:
    """A signed-in customer's first checkout form: the default address, the account's
    e-mail and, for a business customer, the company and its checked VAT number."""
    default = address_book_default(customer)
    if default is not None:
        values = {**vars(address_values_of(default, email=""))}
    values["email"] = _email(request)
    if customer.group_id and customer.tax_number and not values.get("vat_number"):
        values["vat_number"] = customer.tax_number
        values["company"] = values.get("company") or customer.company_name
    return values


def _email(request: HttpRequest) -> str:
    return getattr(request.user, "email", "") or ""


def _remember_address(request: HttpRequest, customer: Customer, values: dict[str, str]) -> None:
    """Save the checkout's address in the customer's book; a failure only warns."""
    try:
        address_book_save(customer=customer, values=address_from_values(values))
    except AddressBookError as error:
        messages.warning(
            request,
            _("The address was not saved in your account: %(reason)s") % {"reason": error.message},
        )


def _days(days_min: int, days_max: int) -> str:
    if days_max <= 0:
        return _("Same day")
    if days_min == days_max or (days_min <= 0 and days_max == 1):
        return ngettext("%(days)s business day", "%(days)s business days", days_max) % {
            "days": days_max
        }
    return _("%(min)s–%(max)s business days") % {"min": max(days_min, 1), "max": days_max}


@never_cache
@require_http_methods(["GET", "POST"])
def checkout_shipping(request: HttpRequest, prefix: str) -> HttpResponse:
    """Choose one of the shipping methods serving the address, with prices and days."""
    context = _context(request)
    cart = _checkout_cart(request, context, after="address")
    if isinstance(cart, HttpResponse):
        return cart
    error = ""
    if request.method == "POST":
        try:
            cart_shipping_method_set(
                cart=cart, method_id=_whole_number(request.POST.get("shipping_method"))
            )
        except CartError as problem:
            error = problem.message
        else:
            return redirect(context.url("/checkout/payment/"))
    options = cart_shipping_options(cart=cart)
    chosen = cart.shipping_method_id
    if chosen not in {option.method_id for option in options}:
        chosen = options[0].method_id if options else None
    return _step(
        request,
        "storefront/checkout_shipping.html",
        "shipping",
        {
            "options": [(option, _days(option.days_min, option.days_max)) for option in options],
            "chosen": chosen,
            "error": error,
            "cart": cart,
            "destination": country_name(cart.country_id or "", context.language),
        },
    )


@never_cache
@require_http_methods(["GET", "POST"])
def checkout_payment(request: HttpRequest, prefix: str) -> HttpResponse:
    """Choose a payment method offered for the cart, with its fee or discount."""
    context = _context(request)
    cart = _checkout_cart(request, context, after="shipping")
    if isinstance(cart, HttpResponse):
        return cart
    error = ""
    if request.method == "POST":
        try:
            cart_payment_method_set(cart=cart, code=request.POST.get("payment_method", "")[:100])
        except CartError as problem:
            error = problem.message
        else:
            return redirect(context.url("/checkout/review/"))
    methods = payment_methods_for(cart=cart)
    chosen = cart.payment_method_code
    if chosen not in {method.code for method in methods}:
        chosen = methods[0].code if methods else ""
    return _step(
        request,
        "storefront/checkout_payment.html",
        "payment",
        {"methods": methods, "chosen": chosen, "error": error},
    )


@never_cache
def checkout_review(request: HttpRequest, prefix: str) -> HttpResponse:
    """Everything the shopper pays, before placing the order."""
    context = _context(request)
    cart = _checkout_cart(request, context, after="payment")
    if isinstance(cart, HttpResponse):
        return cart
    quote = checkout_quote(cart=cart)
    step_of_field = {
        "address": "/checkout/",
        "vat_number": "/checkout/",
        "shipping_method": "/checkout/shipping/",
        "payment_method": "/checkout/payment/",
    }
    return _step(
        request,
        "storefront/checkout_review.html",
        "review",
        {
            "cart": cart,
            "quote": quote,
            "problems": [
                (
                    problem,
                    context.url(step_of_field[problem.field])
                    if problem.field in step_of_field
                    else context.url("/cart/"),
                )
                for problem in quote.problems
            ],
            "country": country_name(cart.country_id or "", context.language),
            "net_display": not quote.prices_include_tax,
        },
    )


@never_cache
@require_http_methods(["GET"])
def checkout_proforma(request: HttpRequest, prefix: str) -> HttpResponse:
    """The cart as a proforma invoice (PDF), for an export quote or import papers."""
    context = _context(request)
    cart = _checkout_cart(request, context, after="shipping")
    if isinstance(cart, HttpResponse):
        return cart
    try:
        document = proforma_for_cart(cart=cart, by="shopper")
    except InvoicingError as error:
        messages.error(request, error.message)
        return redirect(context.url("/checkout/review/"))
    response = HttpResponse(invoice_pdf(document), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{document_filename(document, "pdf")}"'
    return response


def _expected_total(raw: object) -> Decimal | None:
    text = raw.strip() if isinstance(raw, str) else ""
    if not text or len(text) > 30:
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


@require_POST
def checkout_place(request: HttpRequest, prefix: str) -> HttpResponse:
    """Place the order at the total the shopper saw on the review page."""
    context = _context(request)
    cart = _checkout_cart(request, context)
    if isinstance(cart, HttpResponse):
        return cart
    review_url = context.url("/checkout/review/")
    expected = _expected_total(request.POST.get("expected_total"))
    if expected is None:
        messages.error(request, _("Please review your order and place it again."))
        return redirect(review_url)
    try:
        result = checkout_complete(
            cart=cart, payment_method_code=cart.payment_method_code, expected_total=expected
        )
    except QuoteChanged as error:
        messages.warning(request, error.message)
        return redirect(review_url)
    except NotEnoughStock as error:
        messages.error(request, error.message)
        return redirect(context.url("/cart/"))
    except CheckoutError as error:
        messages.error(request, error.message)
        return redirect(review_url)
    order = result.order
    response = redirect(order_url(context, order))
    cart_forget(response)
    return response


def order_url(context: MarketContext, order: Order) -> str:
    """The order's page, with the key that opens it to whoever placed it."""
    return context.url(f"/order/{order.number}/") + f"?key={order_access_key(order.number)}"


@dataclass(frozen=True)
class NextStep:
    kind: str  # bank_transfer | pay_on_delivery | card | retry | paid | cancelled | none
    payment: Payment | None = None
    action: NextAction | None = None


def _next_step(order: Order, payments: list[Payment]) -> NextStep:
    if order.status == OrderStatus.CANCELLED:
        return NextStep("cancelled")
    if order.paid_at is not None:
        return NextStep("paid")
    waiting = next((p for p in reversed(payments) if p.status == PaymentStatus.PENDING), None)
    if order.pays_on_delivery:
        return NextStep("pay_on_delivery", waiting)
    if waiting is not None and waiting.gateway == "bank_transfer":
        return NextStep("bank_transfer", waiting)
    if waiting is not None:
        action = payment_resume(payment=waiting)
        kind = action.kind if action.kind in {"card", "retry"} else "none"
        return NextStep(kind, waiting, action)
    return NextStep("none", waiting)


@never_cache
def order_confirmation(request: HttpRequest, prefix: str, number: str) -> HttpResponse:
    """The placed order: status, totals and what the shopper does next.

    Opened only with the key in the link the shopper was sent to (an HMAC of
    the number); order numbers alone are sequential and guessable. Coming
    back from paying by card (Stripe adds ``payment_intent``), the payment
    is asked for at once rather than waiting for Stripe's notification.
    """
    context = _context(request)
    order = order_for_number(number)
    key = request.GET.get("key", "")
    if order is None or not isinstance(key, str) or not order_access_allowed(order.number, key):
        raise Http404(_("No such order."))
    payments = list(order_payments(order))
    returned = request.GET.get("payment_intent", "")
    for payment in payments:
        if returned and payment.provider_id == returned:
            try:
                payment_sync(payment=payment, by="shopper")
            except PaymentError as error:
                messages.warning(request, error.message)
            order = order_for_number(number) or order
            payments = list(order_payments(order))
            if order.paid_at is None and request.GET.get("redirect_status") == "failed":
                messages.error(
                    request, _("The payment did not go through. Please try another card.")
                )
    next_step = _next_step(order, payments)
    return render(
        request,
        "storefront/order.html",
        {
            "order": order,
            "lines": list(order.lines.all()),
            "shipments": order_shipments(order),
            "next_step": next_step,
            "card": next_step.action.details if next_step.action else {},
            "return_url": request.build_absolute_uri(order_url(context, order)),
            "seller": order.seller,
            "country": country_name(order.shipping_country, context.language),
            "noindex": True,
        },
    )
