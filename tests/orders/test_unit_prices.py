"""Frozen unit prices multiply back to their line amounts (EN 16931 BR/PEPPOL-R120)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders.cart import cart_line_set
from orders.quote import cart_quote, unit_price
from payments.services import checkout_complete
from tests.payments.helpers import BERLIN, NEW_YORK, cart_of, shipped

pytestmark = pytest.mark.usefixtures("checkout_shop")


def test_unit_price_keeps_four_decimals_only_when_needed():
    assert unit_price(Decimal("75.38"), 3, "EUR") == Decimal("25.1267")
    assert unit_price(Decimal("89.70"), 3, "EUR") == Decimal("29.90")
    assert str(unit_price(Decimal("89.70"), 3, "EUR")) == "29.90"


@pytest.mark.parametrize("address", [BERLIN, NEW_YORK], ids=["gross-eur", "net-usd"])
def test_quantity_times_unit_net_is_the_line_net_for_1_to_20_units(address):
    cart = shipped(cart_of({"KRV-TEE-M": 1}), address)
    line_id = cart.lines.get().pk
    for quantity in range(1, 21):
        cart_line_set(cart=cart, line_id=line_id, quantity=quantity)
        [line] = cart_quote(cart=cart).lines
        assert abs(quantity * line.unit.net - line.total.net) <= Decimal("0.01"), quantity
        assert abs(quantity * line.unit.gross - line.total.gross) <= Decimal("0.01"), quantity
        assert line.unit.net + line.unit.tax == line.unit.gross
        assert line.total.net + line.total.tax == line.total.gross


def test_the_order_line_stores_the_unit_net_to_four_decimals():
    # 3 × 29.90 EUR with 19 % VAT: 75.38 net, so 25.1267 a unit (25.13 × 3 would be 75.39)
    cart = shipped(cart_of({"KRV-TEE-M": 3}), BERLIN)

    order = checkout_complete(cart=cart, payment_method_code="bank-transfer").order

    line = order.lines.get()
    assert (line.line_net, line.unit_net, line.unit_gross) == (
        Decimal("75.38"),
        Decimal("25.1267"),
        Decimal("29.90"),
    )
    assert abs(line.quantity * line.unit_net - line.line_net) <= Decimal("0.01")
