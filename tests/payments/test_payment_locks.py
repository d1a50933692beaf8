"""Confirming and cancelling a payment lock the order, then its payments, and nothing
else: not the seller's row, which every new order of the seller needs (FK check)."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from payments.services import checkout_complete, order_payment_cancel, payment_confirm_received
from tests.payments.helpers import BERLIN, cart_of, shipped

pytestmark = pytest.mark.usefixtures("checkout_shop")


def placed_order():
    cart = shipped(cart_of({"KRV-TEE-M": 1}), BERLIN)
    return checkout_complete(cart=cart, payment_method_code="bank-transfer").order


def locked_tables(queries: list[dict[str, str]]) -> list[str]:
    """The tables each ``FOR UPDATE`` locks, in order (all joined ones without ``OF``)."""
    locked = []
    for query in queries:
        sql = query["sql"]
        if "FOR UPDATE" not in sql:
            continue
        of = re.search(r'FOR UPDATE OF ((?:"\w+"(?:, )?)+)', sql)
        if of:
            locked += re.findall(r'"(\w+)"', of.group(1))
        else:
            locked += re.findall(r'(?:FROM|JOIN) "(\w+)"', sql)
    return locked


def test_confirming_a_payment_locks_the_order_then_the_payment_only():
    order = placed_order()

    with CaptureQueriesContext(connection) as queries:
        payment_confirm_received(order=order, by="admin")

    tables = locked_tables(queries.captured_queries)
    assert set(tables) == {"orders_order", "payments_payment"}
    assert tables.index("orders_order") < tables.index("payments_payment")


def test_cancelling_locks_the_order_then_the_payments_only():
    order = placed_order()

    with CaptureQueriesContext(connection) as queries:
        order_payment_cancel(order=order, by="admin")

    tables = locked_tables(queries.captured_queries)
    assert {"orders_order", "payments_payment"} <= set(tables)
    assert not set(tables) & {"shop_seller", "payments_paymentmethod"}
    assert tables.index("orders_order") < tables.index("payments_payment")
