"""Errors of carts and checkout: each carries a machine code and a human message."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.utils.translation import gettext

if TYPE_CHECKING:
    from orders.quote import Problem


class CartError(Exception):
    """A cart change that was refused; the cart is unchanged.

    ``code`` is for programs (``unknown_sku``, ``not_sold_here``,
    ``not_enough_stock``, ``invalid_quantity``, ``invalid_address``,
    ``not_deliverable``, ``unknown_line``, ``unknown_shipping_method``,
    ``cart_closed``…), ``message`` for people, ``field`` names the input at
    fault (empty when none).
    """

    def __init__(self, code: str, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.errors: dict[str, str] = {field: message} if field else {}

    def with_errors(self, errors: dict[str, str]) -> CartError:
        """Attach every field's message (forms show them all at once)."""
        self.errors = dict(errors)
        return self


class CheckoutError(Exception):
    """Checkout refused; nothing was stored."""

    code = "checkout_failed"

    def __init__(self, message: str, *, code: str = "") -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class NotEnoughStock(CheckoutError):
    """Another order took the last units while this one was being placed."""

    code = "not_enough_stock"

    def __init__(self, *, sku: str, requested: int) -> None:
        super().__init__(
            gettext("Not enough stock left of %(sku)s for %(quantity)s units.")
            % {"sku": sku, "quantity": requested}
        )
        self.sku = sku
        self.requested = requested


class OrderNotPlaceable(CheckoutError):
    """The quote has problems (no address, no shipping method, missing tax rate…)."""

    code = "not_placeable"

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__(
            " ".join(problem.message for problem in problems)
            or gettext("This order cannot be placed.")
        )
        self.problems = tuple(problems)


class QuoteChanged(CheckoutError):
    """The total differs from what the shopper saw; they must review it again."""

    code = "quote_changed"

    def __init__(
        self, *, expected: object, actual: object, currency: str, message: str = ""
    ) -> None:
        super().__init__(
            message
            or gettext(
                "The total has changed from %(expected)s to %(actual)s %(currency)s. "
                "Please review your order again."
            )
            % {"expected": expected, "actual": actual, "currency": currency}
        )
        self.expected = expected
        self.actual = actual


class OrderError(Exception):
    """An order change that was refused (illegal transition, bad shipment…)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
