"""Demo markets and customer groups: the part of the demo shop the core owns."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from shop.models import Market
from shop.services import customer_group_upsert, market_upsert

DEMO_MARKETS: list[dict[str, Any]] = [
    {
        "code": "tr",
        "name": "Türkiye",
        "currency": "TRY",
        "default_language": "tr",
        "other_languages": ["en"],
        "default_country": "TR",
        "countries": ["TR"],
        "prices_include_tax": True,
        "position": 1,
    },
    {
        "code": "eu",
        "name": "Europe",
        "currency": "EUR",
        "default_language": "de",
        "other_languages": ["en", "fr"],
        "default_country": "DE",
        "countries": ["DE", "AT", "FR", "NL"],
        "prices_include_tax": True,
        "position": 2,
    },
    {
        "code": "us",
        "name": "United States",
        "currency": "USD",
        "default_language": "en",
        "default_country": "US",
        "countries": ["US"],
        "prices_include_tax": False,
        "is_default": True,
        "position": 3,
    },
    {
        "code": "gb",
        "name": "United Kingdom",
        "currency": "GBP",
        "default_language": "en",
        "default_country": "GB",
        "countries": ["GB"],
        "prices_include_tax": True,
        "position": 4,
    },
]

DEMO_GROUPS = [
    {"code": "retail", "name": "Retail", "description": "Consumers buying at list prices."},
    {"code": "dealer", "name": "Dealer (B2B)", "description": "Resellers with dealer prices."},
]


@transaction.atomic
def markets_demo_setup() -> dict[str, Market]:
    """Create or update the demo markets and customer groups; markets by code."""
    markets = {spec["code"]: market_upsert(**spec) for spec in DEMO_MARKETS}
    for group in DEMO_GROUPS:
        customer_group_upsert(**group)
    return markets
