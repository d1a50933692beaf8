"""Which cart a browser holds, and the mini-cart count shown by cached pages.

The cart cookie carries ``<cart id>:<raw token>``; it is HttpOnly and
SameSite=Lax, and only the token's hash is stored. The count cookie is
readable by the page's script: storefront pages are cached for everyone, so
the header cannot contain one visitor's count; a script writes it instead.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.utils.crypto import constant_time_compare

from orders.models import Cart, Order
from orders.selectors import cart_for_token
from shop.selectors import market_directory

CART_COOKIE = "kervan_cart"
COUNT_COOKIE = "kervan_cart_count"
CART_COOKIE_AGE = 60 * 60 * 24 * 30
ORDER_ACCESS_SALT = "storefront.order-access"


def _secure() -> bool:
    return bool(getattr(settings, "SESSION_COOKIE_SECURE", False))


def request_cart(request: HttpRequest) -> Cart | None:
    """The open cart whose id and token the request's cookie holds, or None."""
    raw = request.COOKIES.get(CART_COOKIE, "")
    cart_id, _sep, token = raw.partition(":")
    if not cart_id.isdigit() or len(cart_id) > 19 or not token:
        return None
    cart = cart_for_token(int(cart_id), token)
    if cart is None or cart.status != Cart.Status.OPEN:
        return None
    return cart


def cart_remember(response: HttpResponse, *, cart: Cart, token: str) -> None:
    response.set_cookie(
        CART_COOKIE,
        f"{cart.pk}:{token}",
        max_age=CART_COOKIE_AGE,
        httponly=True,
        samesite="Lax",
        secure=_secure(),
    )


def cart_count_set(response: HttpResponse, count: int) -> None:
    """The number of units for the header's "Cart (n)" (read by a script, not HttpOnly)."""
    if count <= 0:
        response.delete_cookie(COUNT_COOKIE, samesite="Lax")
        return
    response.set_cookie(
        COUNT_COOKIE,
        str(count),
        max_age=CART_COOKIE_AGE,
        httponly=False,
        samesite="Lax",
        secure=_secure(),
    )


def cart_forget(response: HttpResponse) -> None:
    """The browser no longer holds a cart (ordered, or its cookie was invalid)."""
    response.delete_cookie(CART_COOKIE, samesite="Lax")
    response.delete_cookie(COUNT_COOKIE, samesite="Lax")


def order_access_key(number: str) -> str:
    """The key in an order page's URL: an HMAC of the number (not guessable)."""
    return signing.Signer(salt=ORDER_ACCESS_SALT).signature(number)


def order_access_allowed(number: str, key: str) -> bool:
    return bool(key) and constant_time_compare(order_access_key(number), key)


def order_page_path(order: Order) -> str:
    """The order's page for whoever placed it (with its access key), in the storefront
    of the order's market, language and (where the market serves it) shipping country."""
    directory = market_directory()
    market = next((m for m in directory.markets if m.id == order.market_id), directory.default)
    if market is None:
        return ""
    country = order.shipping_country
    if country not in market.countries:
        country = market.default_country
    language = order.language
    if language not in market.languages:
        language = market.default_language
    prefix = market.prefix_for(language=language, country=country)
    return f"/{prefix}/order/{order.number}/?key={order_access_key(order.number)}"
