"""Cart services work on the locked, fresh row: a change another request committed
meanwhile is not overwritten by a stale copy of the cart."""

from __future__ import annotations

import pytest

from orders.cart import cart_payment_method_record, cart_shipping_address_set
from orders.models import Cart
from tests.payments.helpers import BERLIN, cart_of, shipped

pytestmark = pytest.mark.usefixtures("checkout_shop")


def test_setting_the_address_keeps_a_payment_method_chosen_meanwhile():
    cart = shipped(cart_of({"KRV-TEE-M": 1}), BERLIN)
    stale = Cart.objects.get(pk=cart.pk)  # loaded by one request…
    cart_payment_method_record(cart=cart, code="bank-transfer")  # …another commits

    cart_shipping_address_set(cart=stale, address=BERLIN)

    cart.refresh_from_db()
    assert cart.payment_method_code == "bank-transfer"
    assert cart.shipping_method_id is not None
