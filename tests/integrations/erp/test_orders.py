"""The order feed (cursor paging), acknowledgements, shipments and invoices."""

from __future__ import annotations

import pytest

from integrations.erp.models import OrderAcknowledgement
from invoicing.services import invoice_issue
from orders.models import Order, OrderStatus
from orders.services import order_mark_paid
from tests.orders.factories import cart_with, order_from

pytestmark = pytest.mark.django_db


def _orders(count: int) -> list[Order]:
    return [order_from(cart_with({"KRV-TEE-M": 1})) for _ in range(count)]


def test_an_erp_pages_through_orders_with_the_cursor(checkout_shop, erp_client):
    placed = _orders(5)
    erp = erp_client(["orders:read"])

    first = erp.get("/orders", limit=2).json()
    second = erp.get("/orders", limit=2, cursor=first["next_cursor"]).json()
    third = erp.get("/orders", limit=2, cursor=second["next_cursor"]).json()
    nothing_new = erp.get("/orders", limit=2, cursor=third["next_cursor"]).json()

    seen = [order["number"] for page in (first, second, third) for order in page["items"]]
    assert seen == [order.number for order in placed]
    assert [first["has_more"], second["has_more"], third["has_more"]] == [True, True, False]
    assert nothing_new == {"items": [], "next_cursor": third["next_cursor"], "has_more": False}


def test_a_changed_order_comes_again_after_the_cursor(checkout_shop, erp_client):
    first, _second = _orders(2)
    erp = erp_client(["orders:read"])
    cursor = erp.get("/orders").json()["next_cursor"]

    order_mark_paid(order=first, by="test")
    changes = erp.get("/orders", cursor=cursor).json()

    assert [order["number"] for order in changes["items"]] == [first.number]
    assert changes["items"][0]["status"] == "paid"


def test_an_order_shows_lines_addresses_totals_and_tax(checkout_shop, erp_client):
    order = _orders(1)[0]

    body = erp_client(["orders:read"]).get(f"/orders/{order.number}").json()

    line = order.lines.get()
    assert body["number"] == order.number
    assert body["market"] == "eu"
    assert body["channel"] == "storefront"
    assert body["currency"] == "EUR"
    assert body["shipping_address"]["city"] == "Berlin"
    assert body["billing_address"]["country"] == "DE"
    assert body["lines"] == [
        {
            "id": line.pk,
            "sku": "KRV-TEE-M",
            "name": line.name,
            "quantity": 1,
            "shipped": 0,
            "unit": {
                "net": f"{line.unit_net:.2f}",
                "tax": f"{line.unit_tax:.2f}",
                "gross": f"{line.unit_gross:.2f}",
            },
            "total": {
                "net": f"{line.line_net:.2f}",
                "tax": f"{line.line_tax:.2f}",
                "gross": f"{line.line_gross:.2f}",
            },
            "tax_rate": f"{line.tax_rate:f}",
            "tax_category": line.tax_category,
            "hs_code": line.hs_code,
            "origin_country": line.origin_country,
            "ships_from_pool": line.ship_from_pool.code,
            "weight_grams": line.weight_grams,
        }
    ]
    assert body["totals"]["total"]["gross"] == f"{order.total_gross:.2f}"
    assert body["acknowledgement"] is None


def test_the_order_feed_runs_a_fixed_number_of_queries(
    checkout_shop, erp_client, django_assert_max_num_queries
):
    _orders(6)
    erp = erp_client(["orders:read"])
    erp.get("/orders", limit=1)  # the token's last use is written once a minute

    # token, orders (with market and acknowledgement), lines, shipments, shipment lines
    with django_assert_max_num_queries(5):
        response = erp.get("/orders", limit=6)

    assert len(response.json()["items"]) == 6


def test_an_invalid_cursor_is_refused(erp_client):
    response = erp_client(["orders:read"]).get("/orders", cursor="not-a-cursor")

    assert response.status_code == 422
    assert response.json()["field"] == "cursor"


def test_acknowledging_an_order_is_idempotent(checkout_shop, erp_client):
    order = _orders(1)[0]
    erp = erp_client(["orders:write", "orders:read"])

    first = erp.post(f"/orders/{order.number}/acknowledgement", {"reference": "SO-1001"})
    again = erp.post(f"/orders/{order.number}/acknowledgement", {"reference": "SO-2002"})

    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json() == first.json()
    assert first.json()["reference"] == "SO-1001"
    assert OrderAcknowledgement.objects.get().reference == "SO-1001"
    shown = erp.get(f"/orders/{order.number}").json()["acknowledgement"]
    assert shown["reference"] == "SO-1001"


def test_the_erp_ships_an_order_in_parts(checkout_shop, erp_client):
    order = order_from(cart_with({"KRV-TEE-M": 2, "KRV-TEE-L": 1}))
    order_mark_paid(order=order, by="test")
    medium, large = order.lines.order_by("sku").values_list("pk", flat=True)[::-1]
    erp = erp_client(["orders:write"])
    path = f"/orders/{order.number}/shipments"

    part = erp.post(
        path,
        {"carrier": "DHL", "tracking_number": "JD1", "lines": [{"line_id": medium, "quantity": 1}]},
    )
    rest = erp.post(
        path,
        {
            "carrier": "DHL",
            "tracking_number": "JD2",
            "lines": [{"line_id": medium, "quantity": 1}, {"line_id": large, "quantity": 1}],
        },
        key="ship-2",
    )
    too_many = erp.post(path, {"lines": [{"line_id": medium, "quantity": 1}]})

    assert part.status_code == 201, part.content
    assert part.json()["order_status"] == OrderStatus.PARTIALLY_SHIPPED
    assert part.json()["shipment"]["carrier"] == "DHL"
    assert rest.status_code == 201
    assert rest.json()["order_status"] == OrderStatus.SHIPPED
    assert too_many.status_code == 409
    order.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED
    assert order.shipments.count() == 2


def test_a_shipment_of_a_line_not_in_the_order_changes_nothing(checkout_shop, erp_client):
    order = _orders(1)[0]
    order_mark_paid(order=order, by="test")

    response = erp_client(["orders:write"]).post(
        f"/orders/{order.number}/shipments", {"lines": [{"line_id": 999999, "quantity": 1}]}
    )

    assert response.status_code == 422
    assert response.json()["code"] == "unknown_line"
    assert not order.shipments.exists()


def test_the_erp_lists_and_downloads_an_orders_invoice(checkout_shop, erp_client):
    order = _orders(1)[0]
    order_mark_paid(order=order, by="test")
    invoice = invoice_issue(order=order, by="test")
    erp = erp_client(["invoices:read"])

    listed = erp.get(f"/orders/{order.number}/invoices").json()
    ubl = erp.get(f"/invoices/{invoice.pk}/ubl")

    assert [(row["id"], row["number"], row["kind"]) for row in listed] == [
        (invoice.pk, invoice.number, "invoice")
    ]
    assert listed[0]["total"] == f"{invoice.tax_inclusive:.2f}"
    assert ubl.status_code == 200
    assert ubl["Content-Type"].startswith("application/xml")
    assert invoice.number.encode() in ubl.content
    assert erp.get("/invoices/999999/pdf").status_code == 404
