"""Duty and tax edge cases at checkout: duty on the shipping's net, crossing goods
without a duty rule, and notices in the cart's language."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import translation

from orders.quote import cart_quote
from pricing.money import quantize
from shipping.models import DutyRule
from tests.payments.helpers import LONDON, cart_of, shipped

pytestmark = pytest.mark.usefixtures("checkout_shop")


def test_duty_on_shipping_is_charged_on_its_net():
    # Given a UK rule charging 10 % on goods and shipping (Royal Mail 4.95 GBP with VAT)
    DutyRule.objects.filter(area__code="gb", position=1).update(
        percentage=Decimal("10"), percentage_includes_shipping=True
    )
    cart = shipped(cart_of({"KRV-TEE-M": 1}), LONDON)

    quote = cart_quote(cart=cart)

    assert quote.duty.mode == "ddp", quote.problems
    assert quote.shipping is not None
    assert quote.shipping.amounts.gross == Decimal("4.95")
    assert quote.shipping.amounts.net < quote.shipping.amounts.gross
    goods = sum((line.total.net for line in quote.lines), Decimal(0))
    expected = quantize((goods + quote.shipping.amounts.net) * Decimal("0.10"), "GBP")
    assert quote.duty.amount == expected
    assert quote.total.gross == (
        quote.subtotal.gross + quote.shipping.amounts.gross + quote.duty.amount
    )


def test_crossing_goods_without_a_duty_rule_get_a_delivery_notice():
    # Given the merchant's UK rules are missing
    DutyRule.objects.filter(area__code="gb").delete()
    cart = shipped(cart_of({"KRV-TEE-M": 1}, language="en"), LONDON)

    quote = cart_quote(cart=cart)

    assert quote.duty.mode == "dap"
    notices = {notice.code: notice.message for notice in quote.notices}
    assert notices["duty_on_delivery"] == "Import duties and taxes may be due on delivery."
    assert quote.is_placeable, quote.problems


def test_notices_and_tax_notes_are_in_the_carts_language():
    # Given a German cart shipped to London (re-priced in GBP, UK VAT at checkout)
    cart = shipped(cart_of({"KRV-TEE-M": 1}, language="de"), LONDON)

    # When the quote is built while the request speaks English
    with translation.override("en"):
        quote = cart_quote(cart=cart)

    # Then everything the shopper reads is German
    assert {notice.code for notice in quote.notices} == {"repriced"}
    assert quote.notices[0].message.startswith("Die Preise sind jetzt in GBP")
    assert quote.tax_notes == ("Britische Umsatzsteuer vom Verkäufer beim Kauf erhoben.",)
