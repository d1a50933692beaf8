"""Demo payment methods: cards everywhere (offered once Stripe keys are set), bank
transfer everywhere, cash on delivery in Türkiye."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction

from payments.models import PaymentMethod
from payments.selectors import payment_methods_changed
from shop.models import Market

DEMO_METHODS: list[dict[str, Any]] = [
    {
        "code": "card",
        "gateway": "stripe",
        "names": {
            "en": "Card",
            "de": "Karte",
            "fr": "Carte bancaire",
            "tr": "Kredi / banka kartı",
        },
        "markets": ["tr", "eu", "us", "gb"],
        # A card is paid within minutes; after a decline, CARD_RETRY_MINUTES apply.
        "reservation_minutes": 60,
        "position": 0,
    },
    {
        "code": "bank-transfer",
        "gateway": "bank_transfer",
        "names": {
            "en": "Bank transfer",
            "de": "Banküberweisung",
            "fr": "Virement bancaire",
            "tr": "Banka havalesi / EFT",
        },
        "markets": ["tr", "eu", "us", "gb"],
        "reservation_minutes": 3 * 24 * 60,
        "position": 1,
    },
    {
        "code": "cash-on-delivery",
        "gateway": "cash_on_delivery",
        "names": {
            "en": "Cash on delivery",
            "de": "Nachnahme",
            "fr": "Paiement à la livraison",
            "tr": "Kapıda ödeme",
        },
        "markets": ["tr"],
        "currencies": ["TRY"],
        "countries": ["TR"],
        "amounts_currency": "TRY",
        "fee_fixed": Decimal("25"),
        "max_order_amount": Decimal("20000"),
        "reservation_minutes": 0,
        "position": 2,
    },
]


@transaction.atomic
def payments_demo_setup() -> dict[str, PaymentMethod]:
    """Create or update the demo payment methods (idempotent); methods by code."""
    payment_methods_changed()
    methods = {}
    for spec in DEMO_METHODS:
        fields = dict(spec)
        code, market_codes = fields.pop("code"), fields.pop("markets")
        method, _created = PaymentMethod.objects.update_or_create(code=code, defaults=fields)
        method.markets.set(Market.objects.filter(code__in=market_codes))
        methods[code] = method
    return methods
