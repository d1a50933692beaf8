"""A line is reserved in one stock pool, so the cart and the quote offer at most what
one pool holds, not the sum of the market's pools."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from catalog.models import Variant
from orders.cart import cart_line_add, cart_line_set
from orders.errors import CartError
from orders.quote import cart_quote
from payments.services import checkout_complete
from pricing.models import StockLevel, StockPool
from pricing.services import market_stock_pools_set
from shop.models import Market
from tests.payments.helpers import BERLIN, cart_of, shipped

pytestmark = pytest.mark.usefixtures("checkout_shop")


@pytest.fixture
def two_pools_of_three(checkout_shop: object) -> None:
    """The European market ships from Rotterdam and Hamburg, 3 × KRV-TEE-M free in each."""
    hamburg = StockPool.objects.create(code="hamburg", name="Hamburg", country_id="DE")
    rotterdam = StockPool.objects.get(code="rotterdam")
    market = Market.objects.get(code="eu")
    market_stock_pools_set(market_id=market.pk, pool_ids=[rotterdam.pk, hamburg.pk])
    variant = Variant.objects.get(sku="KRV-TEE-M")
    StockLevel.objects.filter(variant=variant, pool=rotterdam).update(quantity=3, reserved=0)
    StockLevel.objects.create(variant=variant, pool=hamburg, quantity=3)
    cache.clear()


@pytest.mark.usefixtures("two_pools_of_three")
def test_the_cart_refuses_more_than_one_pool_holds():
    cart = cart_of({"KRV-TEE-M": 3})

    with pytest.raises(CartError) as caught:
        cart_line_add(cart=cart, sku="KRV-TEE-M", quantity=2)

    assert caught.value.code == "not_enough_stock"
    assert "KRV-TEE-M sind nur 3 verfügbar" in caught.value.message
    assert cart.lines.get().quantity == 3


@pytest.mark.usefixtures("two_pools_of_three")
def test_the_quote_tells_the_real_maximum_and_what_it_accepts_can_be_placed():
    cart = shipped(cart_of({"KRV-TEE-M": 3}), BERLIN)
    [line] = cart_quote(cart=cart).lines
    assert line.available_quantity == 3

    # One pool sells 1 meanwhile: 2 + 3 free, yet a line of 3 still fits in one pool
    StockLevel.objects.filter(pool__code="rotterdam", variant__sku="KRV-TEE-M").update(reserved=1)
    quote = cart_quote(cart=cart)
    assert quote.is_placeable, quote.problems
    order = checkout_complete(cart=cart, payment_method_code="bank-transfer").order
    assert order.lines.get().quantity == 3


@pytest.mark.usefixtures("two_pools_of_three")
def test_a_line_larger_than_any_pool_is_a_problem_of_the_quote():
    cart = shipped(cart_of({"KRV-TEE-M": 3}), BERLIN)
    StockLevel.objects.filter(variant__sku="KRV-TEE-M").update(reserved=1)  # 2 + 2 free

    quote = cart_quote(cart=cart)

    assert quote.problem_codes() == ["not_enough_stock"]
    assert "KRV-TEE-M sind nur noch 2 übrig" in quote.problems[0].message
    assert quote.lines[0].available_quantity == 2
    with pytest.raises(CartError):
        cart_line_set(cart=cart, line_id=quote.lines[0].line_id, quantity=3)
