"""Cart services: lines checked against the market's prices and stock, clear errors."""

from __future__ import annotations

from decimal import Decimal

import pytest

from catalog.models import Variant
from orders.cart import (
    CheckoutAddress,
    cart_create,
    cart_line_add,
    cart_line_remove,
    cart_line_set,
    cart_shipping_address_set,
)
from orders.errors import CartError
from orders.models import Cart, CartLine
from orders.quote import cart_quote_at_offer_prices
from orders.selectors import cart_for_token, cart_line_count
from pricing.models import StockLevel, StockPool
from shop.models import Market
from tests.orders.factories import cart_with, order_from

pytestmark = pytest.mark.usefixtures("demo_shop")


def error_of(call, **kwargs) -> CartError:
    with pytest.raises(CartError) as caught:
        call(**kwargs)
    return caught.value


def test_a_new_cart_is_found_by_its_token_which_is_stored_hashed():
    cart, token = cart_create(market=Market.objects.get(code="eu"), language="de")

    assert cart_for_token(cart.pk, token) == cart
    assert cart_for_token(cart.pk, token + "x") is None
    assert cart_for_token(cart.pk + 1, token) is None
    assert token not in Cart.objects.get(pk=cart.pk).token_hash
    assert len(Cart.objects.get(pk=cart.pk).token_hash) == 64


def test_bad_tokens_and_ids_find_nothing():
    assert cart_for_token(0, "x") is None
    assert cart_for_token(2**70, "x") is None
    assert cart_for_token(1, "") is None
    assert cart_for_token("1", "x") is None  # type: ignore[arg-type]


def test_a_language_the_market_does_not_speak_is_refused():
    error = error_of(cart_create, market=Market.objects.get(code="eu"), language="tr")

    assert error.code == "invalid_language"


def test_adding_the_same_sku_twice_adds_to_its_line():
    cart = cart_with({"KRV-TEE-M": 1})

    line = cart_line_add(cart=cart, sku="krv-tee-m ", quantity=2)

    assert line.quantity == 3
    assert CartLine.objects.filter(cart=cart).count() == 1
    assert cart_line_count(cart) == 3


def test_lines_are_priced_in_the_cart_market():
    cart = cart_with({"KRV-TEE-M": 2})

    quote = cart_quote_at_offer_prices(cart=cart)

    assert quote.currency == "EUR"
    assert quote.subtotal.gross == Decimal("59.80")
    assert quote.lines[0].name.startswith("Kervan")
    assert quote.problems == ()


@pytest.mark.parametrize(
    ("sku", "quantity", "code", "field"),
    [
        ("NOPE-1", 1, "unknown_sku", "sku"),
        ("", 1, "unknown_sku", "sku"),
        ("KRV\x00TEE", 1, "unknown_sku", "sku"),
        ("KRV-TEE-M", 0, "invalid_quantity", "quantity"),
        ("KRV-TEE-M", -3, "invalid_quantity", "quantity"),
        ("KRV-TEE-M", 1000, "invalid_quantity", "quantity"),
        ("KRV-TEE-M", True, "invalid_quantity", "quantity"),
        ("KRV-TEE-M", 500, "not_enough_stock", "quantity"),
    ],
)
def test_bad_lines_are_refused_with_a_code_and_the_cart_is_unchanged(sku, quantity, code, field):
    cart = cart_with({})

    error = error_of(cart_line_add, cart=cart, sku=sku, quantity=quantity)

    assert (error.code, error.field) == (code, field)
    assert error.message
    assert not CartLine.objects.filter(cart=cart).exists()


def test_an_item_hidden_in_the_country_is_not_sold_there():
    cart = cart_with({}, market="us", language="en")

    error = error_of(cart_line_add, cart=cart, sku="KRV-MUG", quantity=1)

    assert error.code in {"not_sold_here", "unknown_sku"}


def test_quantity_beyond_the_market_stock_is_refused():
    variant = Variant.objects.get(sku="KRV-TEE-M")
    rotterdam = StockPool.objects.get(code="rotterdam")
    StockLevel.objects.filter(variant=variant, pool=rotterdam).update(quantity=3, reserved=0)
    cart = cart_with({"KRV-TEE-M": 2})

    error = error_of(cart_line_add, cart=cart, sku="KRV-TEE-M", quantity=2)

    assert error.code == "not_enough_stock"
    assert "3" in error.message
    assert CartLine.objects.get(cart=cart).quantity == 2


def test_setting_a_quantity_changes_it_and_zero_removes_the_line():
    cart = cart_with({"KRV-TEE-M": 1, "KRV-TEE-L": 1})
    first, second = CartLine.objects.filter(cart=cart).order_by("id")

    assert cart_line_set(cart=cart, line_id=first.pk, quantity=4).quantity == 4
    assert cart_line_set(cart=cart, line_id=second.pk, quantity=0) is None
    cart_line_remove(cart=cart, line_id=first.pk)

    assert not CartLine.objects.filter(cart=cart).exists()


def test_lines_of_another_cart_are_unknown():
    mine, other = cart_with({"KRV-TEE-M": 1}), cart_with({"KRV-TEE-M": 1})
    their_line = CartLine.objects.get(cart=other)

    error = error_of(cart_line_set, cart=mine, line_id=their_line.pk, quantity=2)

    assert error.code == "unknown_line"
    assert error_of(cart_line_remove, cart=mine, line_id=their_line.pk).code == "unknown_line"
    assert CartLine.objects.get(cart=other).quantity == 1


def test_an_ordered_cart_cannot_change():
    cart = cart_with({"KRV-TEE-M": 1})
    order_from(cart)

    error = error_of(cart_line_add, cart=cart, sku="KRV-TEE-M", quantity=1)

    assert error.code == "cart_closed"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"first_name": ""}, "first_name"),
        ({"email": "not-an-email"}, "email"),
        ({"country": "XX"}, "country"),
        ({"postal_code": "1234"}, "postal_code"),
        ({"postal_code": ""}, "postal_code"),
        ({"city": "x" * 101}, "city"),
        ({"line1": "Straße\x00 1"}, "line1"),
    ],
)
def test_addresses_are_checked_against_the_country_rules(changes, field):
    cart = cart_with({"KRV-TEE-M": 1})
    fields = {
        "first_name": "Erika",
        "last_name": "Mustermann",
        "email": "erika@example.com",
        "line1": "Unter den Linden 1",
        "city": "Berlin",
        "postal_code": "10117",
        "country": "DE",
    }

    error = error_of(
        cart_shipping_address_set, cart=cart, address=CheckoutAddress(**{**fields, **changes})
    )

    assert error.code == "invalid_address"
    assert error.field == field
    assert field in error.errors
    assert Cart.objects.get(pk=cart.pk).country_id is None


def test_a_us_address_needs_a_state():
    cart = cart_with({"KRV-TEE-M": 1}, market="us", language="en")
    address = CheckoutAddress(
        first_name="Ada",
        last_name="Lovelace",
        email="ada@example.com",
        line1="1 Main St",
        city="New York",
        postal_code="10001",
        country="US",
    )

    error = error_of(cart_shipping_address_set, cart=cart, address=address)

    assert (error.code, error.field) == ("invalid_address", "region")
