"""Demo pricing: tax categories and rates, price lists, stock pools, exchange rates."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from django.db import transaction

from pricing.models import ExchangeRate, PriceList, Rounding, StockPool, TaxCategory, TaxRate
from pricing.rates import parse_ecb_xml, rates_store
from pricing.services import market_price_list_assign, market_stock_pools_set
from shop.models import CustomerGroup, Market, Region

DEMO_RATES_FILE = Path(__file__).parent / "data" / "eurofxref-demo.xml"

TAX_CATEGORIES = {"standard": "Standard rate", "reduced": "Reduced rate", "zero": "Zero rate"}

# VAT in force in 2026 (standard, reduced), with the date the rate started.
VAT_RATES: dict[str, tuple[str, str, date]] = {
    "TR": ("20", "10", date(2023, 7, 10)),
    "DE": ("19", "7", date(2021, 1, 1)),
    "AT": ("20", "10", date(2016, 1, 1)),
    "FR": ("20", "5.5", date(2014, 1, 1)),
    "NL": ("21", "9", date(2019, 1, 1)),
    "GB": ("20", "5", date(2011, 1, 4)),
}

# US state sales tax (state level, no local add-ons); groceries mostly exempt.
US_STATE_RATES = {"US-CA": "7.25", "US-NY": "4", "US-TX": "6.25", "US-FL": "6", "US-WA": "6.5"}

PRICE_LISTS: list[tuple[str, str, str, bool, str | None, str | None, str, str]] = [
    # code, name, currency, includes tax, tax country, source, percent, rounding
    ("eur-retail", "Euro retail", "EUR", True, "DE", None, "0", Rounding.NONE),
    ("try-retail", "Turkish lira retail", "TRY", True, "TR", None, "0", Rounding.NONE),
    ("usd-retail", "US dollar retail", "USD", False, None, "eur-retail", "0", Rounding.END_99),
    ("gbp-retail", "Pound sterling retail", "GBP", True, "GB", "eur-retail", "0", Rounding.END_99),
    ("eur-dealer", "Euro dealer (B2B)", "EUR", True, "DE", "eur-retail", "-15", Rounding.NONE),
]

MARKET_LISTS = {"tr": "try-retail", "eu": "eur-retail", "us": "usd-retail", "gb": "gbp-retail"}
MARKET_POOLS = {"tr": ["istanbul"], "eu": ["rotterdam"], "us": ["rotterdam"], "gb": ["rotterdam"]}


@transaction.atomic
def pricing_demo_setup() -> dict[str, PriceList]:
    """Create or update the demo's tax, rates, price lists and pools (idempotent)."""
    categories = {
        code: TaxCategory.objects.update_or_create(code=code, defaults={"name": name})[0]
        for code, name in TAX_CATEGORIES.items()
    }
    for country, (standard, reduced, since) in VAT_RATES.items():
        for code, rate in (("standard", standard), ("reduced", reduced), ("zero", "0")):
            TaxRate.objects.update_or_create(
                category=categories[code],
                country_id=country,
                region=None,
                valid_from=since,
                defaults={"rate": Decimal(rate)},
            )
    for region_code, rate in US_STATE_RATES.items():
        region = Region.objects.get(code=region_code)
        for code in ("standard", "reduced"):
            TaxRate.objects.update_or_create(
                category=categories[code],
                country_id="US",
                region=region,
                valid_from=date(2020, 1, 1),
                defaults={"rate": Decimal(rate)},
            )

    if not ExchangeRate.objects.exists():
        rates_store(parse_ecb_xml(DEMO_RATES_FILE.read_bytes()))

    lists: dict[str, PriceList] = {}
    for code, name, currency, includes_tax, tax_country, source, percent, rounding in PRICE_LISTS:
        lists[code], _created = PriceList.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "currency": currency,
                "includes_tax": includes_tax,
                "tax_country_id": tax_country,
                "source": lists[source] if source else None,
                "adjustment_percent": Decimal(percent),
                "rounding": rounding,
            },
        )

    pools = {
        "istanbul": StockPool.objects.update_or_create(
            code="istanbul", defaults={"name": "Istanbul", "country_id": "TR"}
        )[0],
        "rotterdam": StockPool.objects.update_or_create(
            code="rotterdam", defaults={"name": "Rotterdam", "country_id": "NL"}
        )[0],
    }
    markets = {market.code: market for market in Market.objects.filter(code__in=MARKET_LISTS)}
    for market_code, list_code in MARKET_LISTS.items():
        market = markets[market_code]
        market_price_list_assign(market_id=market.pk, price_list=lists[list_code])
        market_stock_pools_set(
            market_id=market.pk, pool_ids=[pools[code].pk for code in MARKET_POOLS[market_code]]
        )
    dealer = CustomerGroup.objects.get(code="dealer")
    market_price_list_assign(
        market_id=markets["eu"].pk, price_list=lists["eur-dealer"], customer_group_id=dealer.pk
    )
    return lists
