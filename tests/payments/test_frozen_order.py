"""What an order freezes at placement: the VAT category of shipping and of the payment
fee, the seller's legal and bank details, and the exchange rate only when known."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from payments.models import PaymentMethod
from payments.services import checkout_complete
from pricing.models import ExchangeRate
from shop import versions
from shop.models import Seller
from tests.payments.helpers import BERLIN, NEW_YORK, cart_of, shipped

pytestmark = pytest.mark.usefixtures("checkout_shop")


def test_shipping_and_fee_keep_their_vat_category():
    PaymentMethod.objects.filter(code="bank-transfer").update(fee_fixed=Decimal("2"))
    cart = shipped(cart_of({"KRV-TEE-M": 1}), BERLIN)

    order = checkout_complete(cart=cart, payment_method_code="bank-transfer").order

    order.refresh_from_db()
    assert (order.shipping_tax_rate, order.shipping_tax_category) == (Decimal("19"), "S")
    assert (order.payment_fee_gross, order.payment_fee_tax_category) == (Decimal("2"), "S")


def test_the_seller_is_frozen_and_the_transfer_goes_to_the_account_as_sold():
    cart = shipped(cart_of({"KRV-TEE-M": 1}), BERLIN)
    result = checkout_complete(cart=cart, payment_method_code="bank-transfer")
    order = result.order
    seller = Seller.objects.get(pk=order.seller_id)
    iban_as_sold = seller.iban
    assert result.next_action.details["iban"] == iban_as_sold

    # When the seller changes its bank account and name later
    Seller.objects.filter(pk=seller.pk).update(iban="DE02100100100006820101", legal_name="New")

    order.refresh_from_db()
    assert order.seller_details["legal_name"] == seller.legal_name
    assert order.seller_details["iban"] == iban_as_sold
    assert order.seller_details["country"] == seller.country_id
    assert order.seller_details["vat_number"] == seller.vat_number
    assert order.seller_as_sold["iban"] == iban_as_sold


def test_a_missing_exchange_rate_is_stored_as_unknown_not_as_one():
    cart = shipped(cart_of({"KRV-TEE-M": 1}), NEW_YORK)
    ExchangeRate.objects.filter(currency="USD").delete()
    versions.retire_now(versions.EXCHANGE_RATES)  # as the admin does once it commits

    order = checkout_complete(cart=cart, payment_method_code="bank-transfer").order

    order.refresh_from_db()
    assert order.currency == "USD"
    assert order.exchange_rate is None
    out = StringIO()
    call_command("order_show", order.number, stdout=out)
    assert "USD, n/a per EUR" in out.getvalue()


def test_a_known_exchange_rate_is_shown():
    cart = shipped(cart_of({"KRV-TEE-M": 1}), NEW_YORK)
    order = checkout_complete(cart=cart, payment_method_code="bank-transfer").order
    out = StringIO()
    call_command("order_show", order.number, stdout=out)
    assert "USD, 1.08 per EUR" in out.getvalue()
