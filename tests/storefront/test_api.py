"""The storefront JSON API: carts and checkout through HTTP, as a headless front end uses it."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.core.management import call_command

from orders.models import Cart, Order, OrderStatus
from pricing.models import StockLevel

pytestmark = pytest.mark.usefixtures("checkout_shop")

API = "/api/storefront/v1"
BERLIN = {
    "first_name": "Erika",
    "last_name": "Mustermann",
    "email": "erika@example.com",
    "phone": "+49 30 1234567",
    "line1": "Unter den Linden 1",
    "city": "Berlin",
    "postal_code": "10117",
    "country": "DE",
}
NEW_YORK = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada@example.com",
    "line1": "350 Fifth Avenue",
    "city": "New York",
    "postal_code": "10118",
    "region": "US-NY",
    "country": "US",
}


class Shopper:
    """A headless client holding one cart's id and token."""

    def __init__(self, client, market: str = "de-de") -> None:
        self.client = client
        response = self.call("post", "/carts", {"market": market}, token=None)
        assert response.status_code == 201, response.content
        self.cart_id = response.json()["id"]
        self.token = response.json()["token"]

    def call(self, method: str, path: str, body: object = None, *, token: str | None = ""):
        headers = {}
        if token is not None:
            headers["HTTP_AUTHORIZATION"] = f"Bearer {token or self.token}"
        data = {} if body is None else {"data": json.dumps(body)}
        return getattr(self.client, method)(
            f"{API}{path}", content_type="application/json", **data, **headers
        )

    def cart(self, suffix: str = "", method: str = "get", body: object = None, **kwargs):
        return self.call(method, f"/carts/{self.cart_id}{suffix}", body, **kwargs)


def berlin_cart(client) -> Shopper:
    shopper = Shopper(client)
    assert shopper.cart("/lines", "post", {"sku": "KRV-TEE-M", "quantity": 2}).status_code == 201
    assert shopper.cart("/shipping-address", "put", BERLIN).status_code == 200
    return shopper


def test_a_german_cart_checks_out_with_bank_transfer_and_is_confirmed_by_command(client):
    shopper = berlin_cart(client)

    methods = shopper.cart("/shipping-methods").json()
    dhl = next(method for method in methods if method["carrier"].upper().startswith("DHL"))
    assert (dhl["price"], dhl["currency"]) == ("5.90", "EUR")
    cart = shopper.cart("/shipping-method", "put", {"id": dhl["id"]}).json()
    payments = shopper.cart("/payment-methods").json()
    assert "bank-transfer" in {method["code"] for method in payments}

    totals = cart["totals"]
    assert cart["currency"] == "EUR"
    assert totals["subtotal"] == {"net": "50.25", "tax": "9.55", "gross": "59.80"}
    assert totals["shipping"]["gross"] == "5.90"
    assert totals["duty"]["mode"] == "none"
    assert totals["total"]["gross"] == "65.70"
    assert cart["seller"]["legal_name"] == "Kervan Europe B.V."
    assert cart["is_placeable"] is True

    placed = shopper.cart(
        "/checkout", "post", {"payment_method": "bank-transfer", "expected_total": "65.70"}
    )

    assert placed.status_code == 201, placed.content
    body = placed.json()
    assert body["status"] == OrderStatus.PENDING_PAYMENT
    assert body["total"]["gross"] == "65.70"
    assert body["next_action"]["kind"] == "bank_transfer"
    assert body["number"] in json.dumps(body["next_action"]["details"])
    order = Order.objects.get(number=body["number"])
    assert (order.currency, order.subtotal_gross, order.total_gross) == (
        "EUR",
        Decimal("59.80"),
        Decimal("65.70"),
    )
    assert order.seller.legal_name == "Kervan Europe B.V."

    call_command("order_confirm_payment", order.number)

    order.refresh_from_db()
    assert order.status == OrderStatus.PAID


def test_shipping_to_new_york_reprices_the_cart_in_dollars_with_duty(client):
    shopper = Shopper(client)
    shopper.cart("/lines", "post", {"sku": "KRV-TEE-M", "quantity": 2})

    cart = shopper.cart("/shipping-address", "put", NEW_YORK).json()
    method = shopper.cart("/shipping-methods").json()[0]
    cart = shopper.cart("/shipping-method", "put", {"id": method["id"]}).json()

    assert (cart["market"], cart["currency"]) == ("us", "USD")
    repriced = next(notice for notice in cart["notices"] if notice["code"] == "repriced")
    # old and new totals of the items, in the cart's language
    assert "59.80 EUR" in repriced["message"]
    assert f"{cart['totals']['subtotal']['net']} USD" in repriced["message"]
    assert cart["totals"]["duty"]["mode"] == "ddp"
    assert Decimal(cart["totals"]["duty"]["amount"]) > 0
    total = cart["totals"]["total"]
    assert Decimal(total["net"]) + Decimal(total["tax"]) == Decimal(total["gross"])


def test_every_cart_call_needs_the_carts_own_token(client):
    shopper = berlin_cart(client)
    other = Shopper(client)

    missing = shopper.cart(token=None)
    wrong = shopper.cart(token="not-the-token")
    foreign = shopper.cart(token=other.token)

    assert missing.status_code == 401
    assert missing.json()["code"] == "unauthorized"
    assert (wrong.status_code, wrong.json()["code"]) == (404, "cart_not_found")
    assert (foreign.status_code, foreign.json()["code"]) == (404, "cart_not_found")
    assert shopper.cart().status_code == 200


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"sku": "NO-SUCH-SKU", "quantity": 1}, 422, "unknown_sku"),
        ({"sku": "KRV-TEE-M", "quantity": 0}, 422, "invalid_input"),
        ({"sku": "KRV-TEE-M", "quantity": "two"}, 422, "invalid_input"),
        ({"quantity": 1}, 422, "invalid_input"),
    ],
)
def test_bad_lines_get_a_clear_error_and_change_nothing(client, body, status, code):
    shopper = berlin_cart(client)
    before = shopper.cart().json()

    response = shopper.cart("/lines", "post", body)

    assert response.status_code == status
    assert response.json()["code"] == code
    assert response.json()["message"]
    assert shopper.cart().json() == before


def test_a_bad_address_names_the_field_and_keeps_the_old_one(client):
    shopper = berlin_cart(client)

    response = shopper.cart("/shipping-address", "put", {**BERLIN, "postal_code": "ABC"})

    assert response.status_code == 422
    assert response.json()["field"] == "postal_code"
    assert Cart.objects.get(pk=shopper.cart_id).postal_code == "10117"


def test_malformed_json_and_unknown_markets_are_refused(client):
    shopper = berlin_cart(client)

    garbled = client.post(
        f"{API}/carts/{shopper.cart_id}/lines",
        data="{not json",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {shopper.token}",
    )
    unknown = client.post(f"{API}/carts", {"market": "xx-yy"}, content_type="application/json")

    assert garbled.status_code in {400, 422}
    assert garbled.json()["code"]
    assert (unknown.status_code, unknown.json()["code"]) == (422, "unknown_market")


def test_a_changed_total_refuses_the_order_and_reserves_nothing(client):
    shopper = berlin_cart(client)
    method = shopper.cart("/shipping-methods").json()[0]
    shopper.cart("/shipping-method", "put", {"id": method["id"]})
    reserved = sorted(StockLevel.objects.values_list("reserved", flat=True))

    response = shopper.cart(
        "/checkout", "post", {"payment_method": "bank-transfer", "expected_total": "1.00"}
    )

    assert (response.status_code, response.json()["code"]) == (409, "quote_changed")
    assert not Order.objects.exists()
    assert sorted(StockLevel.objects.values_list("reserved", flat=True)) == reserved


def test_an_ordered_cart_takes_no_more_lines(client):
    shopper = berlin_cart(client)
    method = shopper.cart("/shipping-methods").json()[0]
    shopper.cart("/shipping-method", "put", {"id": method["id"]})
    shopper.cart("/checkout", "post", {"payment_method": "bank-transfer"})

    response = shopper.cart("/lines", "post", {"sku": "KRV-TEE-M", "quantity": 1})

    assert (response.status_code, response.json()["code"]) == (409, "cart_closed")


def test_the_openapi_document_describes_every_call(client):
    response = client.get(f"{API}/openapi.json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {
        f"{API}/carts",
        f"{API}/carts/{{cart_id}}",
        f"{API}/carts/{{cart_id}}/lines",
        f"{API}/carts/{{cart_id}}/lines/{{line_id}}",
        f"{API}/carts/{{cart_id}}/shipping-address",
        f"{API}/carts/{{cart_id}}/shipping-methods",
        f"{API}/carts/{{cart_id}}/shipping-method",
        f"{API}/carts/{{cart_id}}/payment-methods",
        f"{API}/carts/{{cart_id}}/checkout",
    } <= set(paths)


def test_unknown_api_addresses_answer_json_not_a_page(client):
    unknown = client.get(f"{API}/nothing-here")
    malformed = client.get(f"{API}/carts/1?x=%00")

    assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")
    assert (malformed.status_code, malformed.json()["code"]) == (400, "malformed_request")


def test_messages_come_in_the_carts_language(client):
    shopper = berlin_cart(client)

    refused = shopper.cart("/lines", "post", {"sku": "NO-SUCH-SKU", "quantity": 1})
    methods = shopper.cart("/payment-methods").json()

    assert "bank-transfer" in {method["code"] for method in methods}
    assert next(m["name"] for m in methods if m["code"] == "bank-transfer") == "Banküberweisung"
    assert refused.json()["message"] != "" and "NO-SUCH-SKU" in refused.json()["message"]
