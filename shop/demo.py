"""Demo markets and customer groups: the part of the demo shop the core owns."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from shop.models import Market
from shop.services import customer_group_upsert, market_upsert, seller_upsert

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

DEMO_SELLERS: dict[str, dict[str, Any]] = {
    "kervan-tr": {
        "legal_name": "Kervan Ticaret A.Ş.",
        "line1": "Bağdat Caddesi 123",
        "postal_code": "34710",
        "city": "İstanbul",
        "country_id": "TR",
        "tax_number": "1234567890",
        "tax_office": "Kadıköy",
        "email": "satis@kervan.example",
        "phone": "+90 216 555 01 23",
        "bank_name": "Türkiye İş Bankası",
        "iban": "TR330006100519786457841326",
        "bic": "ISBKTRIS",
    },
    "kervan-eu": {
        "legal_name": "Kervan Europe B.V.",
        "line1": "Wilhelminakade 91",
        "postal_code": "3072 AP",
        "city": "Rotterdam",
        "country_id": "NL",
        "vat_number": "NL004495445B01",
        "tax_number": "12345678",
        "oss_registered": True,
        "ioss_number": "IM5280000012",
        "email": "sales@kervan.example",
        "phone": "+31 10 555 0123",
        "bank_name": "ING Bank N.V.",
        "iban": "NL91ABNA0417164300",
        "bic": "INGBNL2A",
    },
}

# Which seller sells in each demo market.
MARKET_SELLERS = {"tr": "kervan-tr", "eu": "kervan-eu", "us": "kervan-eu", "gb": "kervan-eu"}

DEMO_GROUPS = [
    {"code": "retail", "name": "Retail", "description": "Consumers buying at list prices."},
    {"code": "dealer", "name": "Dealer (B2B)", "description": "Resellers with dealer prices."},
]


@transaction.atomic
def markets_demo_setup() -> dict[str, Market]:
    """Create or update the demo sellers, markets and customer groups; markets by code."""
    sellers = {code: seller_upsert(code=code, **fields) for code, fields in DEMO_SELLERS.items()}
    markets = {
        spec["code"]: market_upsert(**spec, seller=sellers[MARKET_SELLERS[spec["code"]]])
        for spec in DEMO_MARKETS
    }
    for group in DEMO_GROUPS:
        customer_group_upsert(**group)
    return markets
