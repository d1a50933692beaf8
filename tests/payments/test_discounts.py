"""A payment discount larger than the order: capped, so no total is negative and
checkout never fails on the database's check."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from payments.models import PaymentMethod
from payments.selectors import checkout_quote, payment_methods_for
from payments.services import cart_payment_method_set, checkout_complete
from tests.payments.helpers import BERLIN, NEW_YORK, cart_of, shipped

pytestmark = pytest.mark.usefixtures("checkout_shop")


@pytest.fixture
def big_discount() -> PaymentMethod:
    method = PaymentMethod.objects.get(code="bank-transfer")
    method.fee_fixed = Decimal("-100")
    method.save()
    return method


def test_a_discount_is_capped_at_items_and_shipping(big_discount):
    # Given 29.90 EUR of goods and 5.90 shipping, and a 100 EUR transfer discount
    cart = shipped(cart_of({"KRV-TEE-M": 1}), BERLIN)

    [offer] = [m for m in payment_methods_for(cart=cart) if m.code == "bank-transfer"]
    assert offer.fee == Decimal("-35.80")
    cart_payment_method_set(cart=cart, code="bank-transfer")
    quote = checkout_quote(cart=cart)

    assert quote.payment_fee is not None
    assert quote.payment_fee.amounts.gross == Decimal("-35.80")
    assert quote.total.gross == Decimal("0.00")
    assert quote.total.net + quote.total.tax == quote.total.gross
    assert quote.is_placeable, quote.problems

    order = checkout_complete(cart=cart, payment_method_code="bank-transfer").order
    assert order.total_gross == Decimal("0.00")


def test_a_discount_in_a_net_market_never_makes_a_negative_total(big_discount):
    cart = shipped(cart_of({"KRV-TEE-M": 1}), NEW_YORK)
    cart_payment_method_set(cart=cart, code="bank-transfer")

    quote = checkout_quote(cart=cart)

    assert quote.total.gross >= 0
    if quote.is_placeable:
        assert checkout_complete(cart=cart, payment_method_code="bank-transfer").order
    else:
        assert quote.problem_codes() == ["payment_method_unavailable"]


def test_a_fixed_discount_needs_a_minimum_order_total_as_large():
    method = PaymentMethod(
        code="promo", gateway="bank_transfer", names={"en": "Promo"}, fee_fixed=Decimal("-10")
    )
    with pytest.raises(ValidationError) as caught:
        method.full_clean()
    assert "fee_fixed" in caught.value.message_dict

    method.min_order_amount = Decimal("10")
    method.full_clean()


def test_a_percentage_fee_is_the_same_in_the_method_list_and_at_review():
    from dataclasses import replace

    # Given a fee of 1.00 EUR plus 2 %, and a German business buying without VAT
    # (reverse charge)
    method = PaymentMethod.objects.get(code="bank-transfer")
    method.fee_fixed = Decimal("1.00")
    method.fee_percent = Decimal("2")
    method.save()
    business = replace(BERLIN, company="Muster GmbH", vat_number="DE136695976")
    cart = shipped(cart_of({"KRV-TEE-M": 2}), business)

    # When the shopper compares the fee listed with the one at review
    [listed] = [m for m in payment_methods_for(cart=cart) if m.code == "bank-transfer"]
    cart_payment_method_set(cart=cart, code="bank-transfer")
    quote = checkout_quote(cart=cart)

    # Then both are 1.00 plus 2 % of the items and shipping as shown (59.80 + 5.90:
    # 1.31), taxed like the rest: without the VAT it included (2.31 / 1.19)
    assert quote.reverse_charge
    assert quote.payment_fee is not None
    assert listed.fee == quote.payment_fee.amounts.gross == Decimal("1.94")
