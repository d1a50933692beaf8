"""Card payments with Stripe: PaymentIntents and refunds through the official client.

Each payment of an order is one PaymentIntent, created with an idempotency
key made from the payment's id, for the amount in the currency's minor units
as Stripe counts them. The shopper pays in Stripe's Payment Element; the
money is confirmed by Stripe's signed webhook (``payments.stripe_events``)
or, when the shopper comes back first, by asking Stripe for the intent.

Keys: a seller's ``StripeAccount`` in the admin, else the environment's
``STRIPE_SECRET_KEY``, ``STRIPE_PUBLISHABLE_KEY`` and ``STRIPE_WEBHOOK_SECRET``.
Without a secret and a publishable key, Stripe is not offered.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import stripe
from django.conf import settings
from django.utils.translation import gettext

from payments.gateways import GatewayError, GatewayResult, NextAction, gateway_register
from payments.models import StripeAccount
from shop import versions
from shop.config_cache import config_cached

if TYPE_CHECKING:
    from payments.models import Payment

logger = logging.getLogger(__name__)

# Stripe counts these in whole units (https://docs.stripe.com/currencies#zero-decimal)…
ZERO_DECIMAL = frozenset(
    [
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "JPY",
        "KMF",
        "KRW",
        "MGA",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    ]
)
# …these in thousandths, rounded to tens…
THREE_DECIMAL = frozenset(["BHD", "JOD", "KWD", "OMR", "TND"])
# …and every other currency in hundredths (ISK too, though it has no minor unit).


@dataclass(frozen=True)
class StripeKeys:
    secret_key: str
    publishable_key: str
    webhook_secret: str


def stripe_keys(seller_id: int | None) -> StripeKeys | None:
    """The keys Stripe is used with for ``seller_id``; None: Stripe is not offered."""
    accounts = config_cached(
        versions.PAYMENTS,
        "stripe-accounts",
        lambda: {
            account.seller_id: StripeKeys(
                account.secret_key, account.publishable_key, account.webhook_secret
            )
            for account in StripeAccount.objects.filter(is_active=True)
        },
    )
    own = accounts.get(seller_id) if seller_id is not None else None
    if own is not None:
        return own
    if settings.STRIPE_SECRET_KEY and settings.STRIPE_PUBLISHABLE_KEY:
        return StripeKeys(
            settings.STRIPE_SECRET_KEY,
            settings.STRIPE_PUBLISHABLE_KEY,
            settings.STRIPE_WEBHOOK_SECRET,
        )
    return None


def webhook_secrets() -> list[StripeKeys]:
    """Every set of keys with a webhook signing secret (one endpoint serves all sellers)."""
    found = {
        keys.webhook_secret: keys
        for keys in config_cached(
            versions.PAYMENTS,
            "stripe-webhook-keys",
            lambda: [
                StripeKeys(a.secret_key, a.publishable_key, a.webhook_secret)
                for a in StripeAccount.objects.filter(is_active=True).exclude(webhook_secret="")
            ],
        )
    }
    if settings.STRIPE_WEBHOOK_SECRET and settings.STRIPE_SECRET_KEY:
        found.setdefault(
            settings.STRIPE_WEBHOOK_SECRET,
            StripeKeys(
                settings.STRIPE_SECRET_KEY,
                settings.STRIPE_PUBLISHABLE_KEY,
                settings.STRIPE_WEBHOOK_SECRET,
            ),
        )
    return list(found.values())


def stripe_amount(amount: Decimal, currency: str) -> int:
    """``amount`` in the units Stripe expects for ``currency`` (59.80 EUR → 5980).

    GatewayError when the amount cannot be charged exactly (a fraction of a
    yen; a three-decimal currency off the tens Stripe accepts).
    """
    code = currency.upper()
    digits = 0 if code in ZERO_DECIMAL else 3 if code in THREE_DECIMAL else 2
    scaled = amount.scaleb(digits)
    if scaled != scaled.to_integral_value() or (digits == 3 and scaled % 10):
        raise GatewayError(
            "amount_not_chargeable",
            gettext("%(amount)s %(currency)s cannot be charged by card exactly.")
            % {"amount": amount, "currency": code},
        )
    return int(scaled)


def amount_from_stripe(units: int, currency: str) -> Decimal:
    code = currency.upper()
    digits = 0 if code in ZERO_DECIMAL else 3 if code in THREE_DECIMAL else 2
    return Decimal(units).scaleb(-digits)


def stripe_client(keys: StripeKeys) -> stripe.StripeClient:
    return stripe.StripeClient(
        keys.secret_key,
        base_addresses={"api": settings.STRIPE_API_BASE},
        max_network_retries=settings.STRIPE_NETWORK_RETRIES,
        http_client=stripe.RequestsClient(timeout=settings.STRIPE_TIMEOUT_SECONDS),
    )


def _failure(error: stripe.StripeError) -> GatewayError:
    """A Stripe error for people (the card processor's own words are for the log)."""
    logger.warning("Stripe refused: %s (%s)", error.user_message or error, error.code)
    if isinstance(error, stripe.APIConnectionError):
        return GatewayError(
            "gateway_unreachable",
            gettext("The card payment service cannot be reached. Please try again in a moment."),
        )
    return GatewayError(
        error.code or "gateway_refused",
        gettext("The card payment service refused: %(reason)s")
        % {"reason": error.user_message or gettext("no reason given")},
    )


class StripeGateway:
    """Cards (and the other methods the merchant enables in Stripe) via PaymentIntents."""

    code = "stripe"
    pays_on_delivery = False
    remote = True

    def is_available(self, *, seller_id: int | None) -> bool:
        return stripe_keys(seller_id) is not None

    def _keys(self, payment: Payment) -> StripeKeys:
        keys = stripe_keys(payment.order.seller_id)
        if keys is None:
            raise GatewayError("gateway_unavailable", gettext("Card payments are not set up."))
        return keys

    def start(self, *, payment: Payment) -> NextAction:
        """Create the payment's PaymentIntent (again, idempotently: the same key
        gives the same intent) and hand its client secret to the Payment Element."""
        keys = self._keys(payment)
        order = payment.order
        params: dict[str, Any] = {
            "amount": stripe_amount(payment.amount, payment.currency),
            "currency": payment.currency.lower(),
            "automatic_payment_methods": {"enabled": True},
            # Not translated: a repeated request must send the very same parameters.
            "description": f"Order {order.number}",
            "metadata": {"order": order.number, "payment": str(payment.pk)},
        }
        if order.email:
            params["receipt_email"] = order.email
        try:
            intent = stripe_client(keys).v1.payment_intents.create(
                params,  # type: ignore[arg-type]
                {"idempotency_key": f"kervan-payment-{payment.pk}-intent"},
            )
        except stripe.StripeError as error:
            raise _failure(error) from error
        return _card_form(keys, intent)

    def resume(self, *, payment: Payment) -> NextAction:
        """The Payment Element's keys for the payment's existing intent (never a new
        intent: Stripe forgets idempotency keys after a day)."""
        keys = self._keys(payment)
        return _card_form(keys, self._intent(payment, keys))

    def _intent(self, payment: Payment, keys: StripeKeys) -> stripe.PaymentIntent:
        if not payment.provider_id:
            raise GatewayError("not_started", gettext("This payment was not started."))
        try:
            return stripe_client(keys).v1.payment_intents.retrieve(payment.provider_id)
        except stripe.StripeError as error:
            raise _failure(error) from error

    def confirm(self, *, payment: Payment, data: Mapping[str, object]) -> GatewayResult:
        """Ask Stripe whether the intent succeeded for the whole amount."""
        intent = self._intent(payment, self._keys(payment))
        return intent_result(payment, intent.to_dict())

    def capture(self, *, payment: Payment, amount: Decimal) -> GatewayResult:
        # Intents capture automatically: the money is taken when the shopper pays.
        return self.confirm(payment=payment, data={})

    def cancel(self, *, payment: Payment) -> None:
        """Cancel the intent so it can no longer be paid; GatewayError("already_paid")
        when the shopper paid meanwhile."""
        if not payment.provider_id:
            return
        keys = self._keys(payment)
        try:
            stripe_client(keys).v1.payment_intents.cancel(
                payment.provider_id,
                options={"idempotency_key": f"kervan-payment-{payment.pk}-cancel"},
            )
        except stripe.InvalidRequestError as error:
            intent = self._intent(payment, keys)
            if intent.status == "canceled":
                return
            if intent.status == "succeeded":
                raise GatewayError(
                    "already_paid", gettext("The shopper has paid this order meanwhile.")
                ) from error
            raise _failure(error) from error
        except stripe.StripeError as error:
            raise _failure(error) from error

    def refund(
        self, *, payment: Payment, amount: Decimal, key: str = "", note: str = ""
    ) -> GatewayResult:
        """Give ``amount`` back to the card; ``key`` makes a repeated request refund once."""
        keys = self._keys(payment)
        if not payment.provider_id:
            raise GatewayError("not_started", gettext("This payment was not started."))
        params: dict[str, Any] = {
            "payment_intent": payment.provider_id,
            "amount": stripe_amount(amount, payment.currency),
            "metadata": {"order": payment.order.number, "payment": str(payment.pk)},
        }
        if note:
            params["metadata"]["note"] = note[:500]
        options = {"idempotency_key": key} if key else {}
        try:
            refund = stripe_client(keys).v1.refunds.create(params, options)  # type: ignore[arg-type]
        except stripe.StripeError as error:
            raise _failure(error) from error
        return GatewayResult(
            paid=refund.status in {"succeeded", "pending"},
            reference=str(refund.id),
            data={"status": str(refund.status)},
        )

    def handle_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> GatewayResult:
        raise GatewayError(
            "not_here", gettext("Stripe's notifications go to /payments/stripe/webhook/.")
        )


def _card_form(keys: StripeKeys, intent: stripe.PaymentIntent) -> NextAction:
    """What the Payment Element needs to pay ``intent``."""
    return NextAction(
        kind="card",
        message=gettext("Please enter your card details to pay."),
        details={
            "publishable_key": keys.publishable_key,
            "client_secret": str(intent.client_secret),
            "payment_intent": str(intent.id),
            "status": str(intent.status),
        },
        reference=str(intent.id),
    )


def intent_result(payment: Payment, intent: Mapping[str, Any]) -> GatewayResult:
    """Whether an intent (as Stripe sent or returned it) pays ``payment`` in full."""
    expected = stripe_amount(payment.amount, payment.currency)
    paid = (
        intent.get("status") == "succeeded"
        and str(intent.get("currency", "")).upper() == payment.currency.upper()
        and int(intent.get("amount_received") or 0) >= expected
    )
    return GatewayResult(
        paid=paid,
        reference=str(intent.get("latest_charge") or intent.get("id") or ""),
        data={
            "status": str(intent.get("status", "")),
            "amount_received": int(intent.get("amount_received") or 0),
            "currency": str(intent.get("currency", "")),
        },
    )


gateway_register(StripeGateway())
