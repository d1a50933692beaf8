"""The gateway interface, its registry, and the offline gateways.

A gateway turns a payment into actions with a payment provider (or with the
merchant, for offline methods). Services in ``payments.services`` call it and
record what happened; gateways never change orders themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

from django.utils.translation import gettext

from pricing.money import quantize

if TYPE_CHECKING:
    from payments.models import Payment


class GatewayError(Exception):
    """The gateway refused or failed; ``code`` for programs, ``message`` for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class NextAction:
    """What the shopper must do after placing the order.

    ``kind``: ``bank_transfer`` (send money; ``details`` hold the bank
    details and reference), ``pay_on_delivery``, ``card`` (pay in the
    provider's form: ``details`` hold its keys), ``redirect`` (``url``),
    ``retry`` (the provider could not be reached: pay from the order page),
    or ``none``. ``reference``: the payment's id at the provider, if any.
    """

    kind: str
    message: str
    details: Mapping[str, str] = field(default_factory=dict)
    url: str = ""
    reference: str = ""


@dataclass(frozen=True)
class GatewayResult:
    """What a gateway call achieved: ``paid`` once the money is in."""

    paid: bool = False
    reference: str = ""
    data: Mapping[str, object] = field(default_factory=dict)


class Gateway(Protocol):
    code: str
    pays_on_delivery: bool
    remote: bool  # payments have an id at a provider (``Payment.provider_id``)

    def is_available(self, *, seller_id: int | None) -> bool:
        """Whether the seller can take payments with it (e.g. has the provider's keys)."""
        ...

    def start(self, *, payment: Payment) -> NextAction:
        """Begin paying: what the shopper must do next."""
        ...

    def resume(self, *, payment: Payment) -> NextAction:
        """What the shopper does next for a payment started earlier (the order's page)."""
        ...

    def confirm(self, *, payment: Payment, data: Mapping[str, object]) -> GatewayResult:
        """The shopper or merchant reports the payment done (3-D Secure, money received)."""
        ...

    def capture(self, *, payment: Payment, amount: Decimal) -> GatewayResult:
        """Take authorised money."""
        ...

    def cancel(self, *, payment: Payment) -> None:
        """Make a payment not yet made impossible to make (GatewayError("already_paid")
        when it was made meanwhile)."""
        ...

    def refund(
        self, *, payment: Payment, amount: Decimal, key: str = "", note: str = ""
    ) -> GatewayResult:
        """Give money back; ``key`` makes a repeated request give it back once."""
        ...

    def handle_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> GatewayResult:
        """A notification from the provider (verified by the gateway)."""
        ...


def _money(amount: Decimal, currency: str) -> str:
    return f"{quantize(amount, currency)} {currency}"


class OfflineGateway:
    """Money that moves outside the shop: the merchant confirms it arrived."""

    code = "offline"
    pays_on_delivery = False
    remote = False

    def is_available(self, *, seller_id: int | None) -> bool:
        return True

    def cancel(self, *, payment: Payment) -> None:
        return None

    def start(self, *, payment: Payment) -> NextAction:
        return NextAction(kind="none", message="")

    def resume(self, *, payment: Payment) -> NextAction:
        return self.start(payment=payment)

    def confirm(self, *, payment: Payment, data: Mapping[str, object]) -> GatewayResult:
        return GatewayResult(paid=True, reference=str(data.get("reference", "")))

    def capture(self, *, payment: Payment, amount: Decimal) -> GatewayResult:
        return GatewayResult(paid=True)

    def refund(
        self, *, payment: Payment, amount: Decimal, key: str = "", note: str = ""
    ) -> GatewayResult:
        # Offline money goes back by hand; the merchant records that it did.
        return GatewayResult(paid=False, data={"manual": True})

    def handle_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> GatewayResult:
        raise GatewayError("no_webhooks", gettext("This payment method has no notifications."))


class BankTransferGateway(OfflineGateway):
    """The shopper transfers the total to the seller's account, with the order number
    as reference; the order waits until the merchant confirms the money arrived."""

    code = "bank_transfer"

    def start(self, *, payment: Payment) -> NextAction:
        order = payment.order
        seller = order.seller_as_sold  # the account as at placement, not as edited since
        amount = _money(payment.amount, payment.currency)
        return NextAction(
            kind="bank_transfer",
            message=gettext(
                "Please transfer %(amount)s to %(holder)s, IBAN %(iban)s (%(bank)s, BIC %(bic)s), "
                "stating %(reference)s as the reference. We ship once the money has arrived."
            )
            % {
                "amount": amount,
                "holder": seller["legal_name"],
                "iban": seller["iban"],
                "bank": seller["bank_name"],
                "bic": seller["bic"],
                "reference": order.number,
            },
            details={
                "account_holder": seller["legal_name"],
                "bank_name": seller["bank_name"],
                "iban": seller["iban"],
                "bic": seller["bic"],
                "reference": order.number,
                "amount": str(quantize(payment.amount, payment.currency)),
                "currency": payment.currency,
            },
        )


class CashOnDeliveryGateway(OfflineGateway):
    """The shopper pays the carrier on delivery; the merchant confirms the cash came in."""

    code = "cash_on_delivery"
    pays_on_delivery = True

    def start(self, *, payment: Payment) -> NextAction:
        return NextAction(
            kind="pay_on_delivery",
            message=gettext("Please pay %(amount)s in cash when your parcel arrives.")
            % {"amount": _money(payment.amount, payment.currency)},
            details={
                "amount": str(quantize(payment.amount, payment.currency)),
                "currency": payment.currency,
                "reference": payment.order.number,
            },
        )


_REGISTRY: dict[str, Gateway] = {}


def gateway_register(gateway: Gateway) -> None:
    """Make ``gateway`` available to payment methods under its code."""
    _REGISTRY[gateway.code] = gateway


def gateway_for(code: str) -> Gateway:
    """The registered gateway with ``code``; GatewayError when there is none."""
    try:
        return _REGISTRY[code]
    except KeyError:
        raise GatewayError(
            "unknown_gateway", gettext("No payment gateway %(code)s.") % {"code": code}
        ) from None


def gateway_codes() -> list[str]:
    return sorted(_REGISTRY)


gateway_register(BankTransferGateway())
gateway_register(CashOnDeliveryGateway())
