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

# Counts with the configuration caches warm (markets, pricing, shipping, tax,
# exchange rates, payment methods: read from memory once built).
#
# The variant and its product (1), its offer (2), the most free in one pool (1),
# the cart locked and re-read, its line read and written (4, in a savepoint),
# then the cart priced without an address: lines, stock, prices (3), and the new
# variant's name and options the first time it is in a cart (3).
ADD_LINE = 17
# The cart (1), its lines (1), their stock (1) and prices (1), priced with the
# Berlin address and a shipping method.
GET_CART = 4
# The same with bank transfer chosen (the payment methods come from memory).
GET_CART_WITH_PAYMENT = 4
# The cart read and locked (2), its lines, stock and prices (3), the payment
# methods the first time (1), then the order locked and written: number, order,
# lines, backorder flags, one reservation per line, reservations, status
# change, outbox event, cart closed, payment and its transaction, in savepoints.
CHECKOUT = 26


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
