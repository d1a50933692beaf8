"""Query budgets of the storefront API's cart and checkout calls (``make bench`` shows them).

Measured on a de-de cart of three KRV-TEE lines shipped to Berlin, with the
market, pricing and category caches warm. Every call reads the cart (1);
pricing a cart costs its lines (1), their option values (1) and product
names (1), offers (prices and stock, 2), stock per pool (1), the customs
areas of the ship-from and destination countries (1), the destination
check (delivery country, city, postal code rules: 3), the shipping zones
with their rates and brackets (3), tax classes and rates (2) and exchange
rates (1).
"""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.usefixtures("checkout_shop")

API = "/api/storefront/v1"
BERLIN = {
    "first_name": "Erika",
    "last_name": "Mustermann",
    "email": "erika@example.com",
    "line1": "Unter den Linden 1",
    "city": "Berlin",
    "postal_code": "10117",
    "country": "DE",
}

# The variant and its product (1), its offer (2), the most free in one pool (1),
# the cart locked and re-read (1) and its line read and written (2), then the
# cart priced without an address (8, with the products' visibility), in savepoints.
ADD_LINE = 22
# The cart read (1) and priced with the Berlin address and a shipping method
# (17, with the products' visibility in the destination).
GET_CART = 18
# The same with bank transfer chosen: the payment methods (1), the payment
# fee taxed with the rest (tax classes and rates, exchange rates: 3).
GET_CART_WITH_PAYMENT = 22
# The cart read and locked (2), priced once with and without the fee (20),
# the method recorded (3), the order, its lines, number, reservations,
# status change, outbox event and payment (the rest), in savepoints.
CHECKOUT = 55
# The aim for the cart page (issue: at most 12 queries).
CART_PAGE_AIM = 12


def call(client, method: str, path: str, body: object = None, token: str = ""):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    data = {} if body is None else {"data": json.dumps(body)}
    return getattr(client, method)(
        f"{API}{path}", content_type="application/json", **data, **headers
    )


@pytest.fixture
def cart(client) -> tuple[str, str]:
    """A de-de cart with KRV-TEE-S and -M: its path and token (caches warm)."""
    created = call(client, "post", "/carts", {"market": "de-de"}).json()
    path, token = f"/carts/{created['id']}", created["token"]
    for sku in ("KRV-TEE-S", "KRV-TEE-M"):
        assert call(client, "post", f"{path}/lines", {"sku": sku}, token).status_code == 201
    return path, token


def ready(client, path: str, token: str) -> None:
    """Third line, Berlin address and the cheapest shipping method."""
    assert call(client, "post", f"{path}/lines", {"sku": "KRV-TEE-L"}, token).status_code == 201
    assert call(client, "put", f"{path}/shipping-address", BERLIN, token).status_code == 200
    methods = call(client, "get", f"{path}/shipping-methods", None, token).json()
    chosen = {"id": methods[0]["id"]}
    assert call(client, "put", f"{path}/shipping-method", chosen, token).status_code == 200


def test_adding_a_line(client, cart, django_assert_max_num_queries):
    path, token = cart
    with django_assert_max_num_queries(ADD_LINE):
        response = call(client, "post", f"{path}/lines", {"sku": "KRV-TEE-L"}, token)
    assert response.status_code == 201
    assert len(response.json()["lines"]) == 3


def test_reading_the_cart(client, cart, django_assert_max_num_queries):
    path, token = cart
    ready(client, path, token)
    with django_assert_max_num_queries(GET_CART):
        response = call(client, "get", path, None, token)
    body = response.json()
    assert response.status_code == 200
    assert (len(body["lines"]), body["shipping_method"] is not None) == (3, True)


def test_reading_the_cart_with_a_payment_method(client, cart, django_assert_max_num_queries):
    path, token = cart
    ready(client, path, token)
    chosen = {"code": "bank-transfer"}
    assert call(client, "put", f"{path}/payment-method", chosen, token).status_code == 200
    with django_assert_max_num_queries(GET_CART_WITH_PAYMENT):
        response = call(client, "get", path, None, token)
    assert response.status_code == 200
    assert response.json()["payment_method"]["code"] == "bank-transfer"


def test_checking_out(client, cart, django_assert_max_num_queries):
    path, token = cart
    ready(client, path, token)
    with django_assert_max_num_queries(CHECKOUT):
        response = call(
            client, "post", f"{path}/checkout", {"payment_method": "bank-transfer"}, token
        )
    assert response.status_code == 201, response.content


@pytest.mark.xfail(
    strict=True,
    reason="Pricing a cart reads shipping, customs and tax configuration on every call "
    "(10 queries); caching it under a version of its own would meet the aim.",
)
def test_reading_the_cart_meets_the_cart_page_aim(client, cart, django_assert_max_num_queries):
    path, token = cart
    ready(client, path, token)
    with django_assert_max_num_queries(CART_PAGE_AIM):
        call(client, "get", path, None, token)
