"""Demo pricing: tax rates, price lists, stock pools, exchange rates,
and the prices and stock of the demo catalogue's products (``catalog.demo``).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from catalog.demo import ProductSpec, tax_classes_demo_setup
from catalog.models import TaxClass, Variant
from pricing.models import (
    ExchangeRate,
    PriceEntry,
    PriceList,
    Rounding,
    StockLevel,
    StockPool,
    TaxRate,
)
from pricing.rates import parse_ecb_xml, rates_store
from pricing.services import (
    market_price_list_assign,
    market_stock_pools_set,
    price_lists_changed,
    stock_changed,
)
from shop.models import CustomerGroup, Market, Region

DEMO_RATES_FILE = Path(__file__).parent / "data" / "eurofxref-demo.xml"

# VAT in force in December 2026: (standard, one common reduced rate, the day
# the latest of the two started). Every EU member state, the UK and Türkiye.
VAT_RATES: dict[str, tuple[str, str, date]] = {
    "AT": ("20", "10", date(2016, 1, 1)),
    "BE": ("21", "6", date(1996, 1, 1)),
    "BG": ("20", "9", date(2011, 4, 1)),
    "CY": ("19", "5", date(2014, 1, 13)),
    "CZ": ("21", "12", date(2024, 1, 1)),
    "DE": ("19", "7", date(2021, 1, 1)),
    "DK": ("25", "25", date(1992, 1, 1)),  # no reduced rate
    "EE": ("24", "9", date(2025, 7, 1)),
    "ES": ("21", "10", date(2012, 9, 1)),
    "FI": ("25.5", "13.5", date(2026, 1, 1)),
    "FR": ("20", "5.5", date(2014, 1, 1)),
    "GR": ("24", "13", date(2016, 6, 1)),
    "HR": ("25", "13", date(2014, 1, 1)),
    "HU": ("27", "18", date(2012, 1, 1)),
    "IE": ("23", "13.5", date(2021, 3, 1)),
    "IT": ("22", "10", date(2013, 10, 1)),
    "LT": ("21", "9", date(2009, 9, 1)),
    "LU": ("17", "8", date(2024, 1, 1)),
    "LV": ("21", "12", date(2012, 7, 1)),
    "MT": ("18", "5", date(2004, 1, 1)),
    "NL": ("21", "9", date(2019, 1, 1)),
    "PL": ("23", "8", date(2011, 1, 1)),
    "PT": ("23", "6", date(2011, 1, 1)),
    "RO": ("21", "11", date(2025, 8, 1)),
    "SE": ("25", "12", date(2007, 1, 1)),  # food 6 % for a while: VAT_RATE_PERIODS
    "SI": ("22", "9.5", date(2013, 7, 1)),
    "SK": ("23", "19", date(2025, 1, 1)),
    "GB": ("20", "5", date(2011, 1, 4)),
    "TR": ("20", "10", date(2023, 7, 10)),
}

# The US has no national sales tax or VAT: explicit 0 % rows, so that a
# missing row always means a rate nobody entered.
US_NATIONAL_RATE = ("0", "0", date(2020, 1, 1))

# State sales tax base rates (no local add-ons) in December 2026; 0 in the
# states without a general sales tax. The reduced class uses the same rate.
US_STATE_RATES: dict[str, str] = {
    "US-AL": "4",
    "US-AK": "0",
    "US-AZ": "5.6",
    "US-AR": "6.5",
    "US-CA": "7.25",
    "US-CO": "2.9",
    "US-CT": "6.35",
    "US-DE": "0",
    "US-FL": "6",
    "US-GA": "4",
    "US-HI": "4",
    "US-ID": "6",
    "US-IL": "6.25",
    "US-IN": "7",
    "US-IA": "6",
    "US-KS": "6.5",
    "US-KY": "6",
    "US-LA": "5",
    "US-ME": "5.5",
    "US-MD": "6",
    "US-MA": "6.25",
    "US-MI": "6",
    "US-MN": "6.875",
    "US-MS": "7",
    "US-MO": "4.225",
    "US-MT": "0",
    "US-NE": "5.5",
    "US-NV": "6.85",
    "US-NH": "0",
    "US-NJ": "6.625",
    "US-NM": "4.875",
    "US-NY": "4",
    "US-NC": "4.75",
    "US-ND": "5",
    "US-OH": "5.75",
    "US-OK": "4.5",
    "US-OR": "0",
    "US-PA": "6",
    "US-RI": "7",
    "US-SC": "6",
    "US-SD": "4.2",
    "US-TN": "7",
    "US-TX": "6.25",
    "US-UT": "4.85",
    "US-VT": "6",
    "US-VA": "5.3",  # including the 1 % local tax levied statewide
    "US-WA": "6.5",
    "US-WV": "6",
    "US-WI": "5",
    "US-WY": "4",
}
US_STATE_RATES_SINCE = date(2020, 1, 1)
US_STATE_RATES_CHANGED = {"US-LA": date(2025, 1, 1)}

# Rates limited in time: (country or state, tax class, rate, from, to).
VAT_RATE_PERIODS: list[tuple[str, str, str, date, date | None]] = [
    # Sweden halves VAT on food from April 2026 to the end of 2027.
    ("SE", "reduced", "12", date(2007, 1, 1), date(2026, 3, 31)),
    ("SE", "reduced", "6", date(2026, 4, 1), date(2027, 12, 31)),
    ("SE", "reduced", "12", date(2028, 1, 1), None),
    # The District of Columbia: 6 % until September 2026, then 7 %.
    ("US-DC", "standard", "6", date(2018, 10, 1), date(2026, 9, 30)),
    ("US-DC", "standard", "7", date(2026, 10, 1), None),
    ("US-DC", "reduced", "6", date(2018, 10, 1), date(2026, 9, 30)),
    ("US-DC", "reduced", "7", date(2026, 10, 1), None),
    ("US-DC", "zero", "0", date(2018, 10, 1), None),
]

# (tax class code, country, region code or "", valid from) → (rate, valid to)
RateKey = tuple[str, str, str, date]


def demo_tax_rates() -> dict[RateKey, tuple[Decimal, date | None]]:
    """Every demo tax rate: national VAT, US national 0 % and state sales tax, zero rows."""
    rates: dict[RateKey, tuple[Decimal, date | None]] = {}
    national = {**VAT_RATES, "US": US_NATIONAL_RATE}
    periods = {(place, code) for place, code, *_rest in VAT_RATE_PERIODS}
    for country, (standard, reduced, since) in national.items():
        for code, rate in (("standard", standard), ("reduced", reduced), ("zero", "0")):
            if (country, code) not in periods:
                rates[code, country, "", since] = (Decimal(rate), None)
    for region, rate in US_STATE_RATES.items():
        since = US_STATE_RATES_CHANGED.get(region, US_STATE_RATES_SINCE)
        for code, class_rate in (("standard", rate), ("reduced", rate), ("zero", "0")):
            rates[code, "US", region, since] = (Decimal(class_rate), None)
    for place, code, rate, valid_from, valid_to in VAT_RATE_PERIODS:
        country, _dash, _state = place.partition("-")
        rates[code, country, place if "-" in place else "", valid_from] = (
            Decimal(rate),
            valid_to,
        )
    return rates


def tax_rates_demo_setup(classes: dict[str, TaxClass]) -> int:
    """Create or correct the demo tax rates in a few queries. Returns how many were written."""
    wanted = demo_tax_rates()
    regions = dict(
        Region.objects.filter(code__in={key[2] for key in wanted if key[2]}).values_list(
            "code", "pk"
        )
    )
    region_codes = {pk: code for code, pk in regions.items()}
    class_codes = {tax_class.pk: code for code, tax_class in classes.items()}
    existing = {
        (
            class_codes.get(rate.tax_class_id, ""),
            rate.country_id,
            region_codes.get(rate.region_id, "") if rate.region_id else "",
            rate.valid_from,
        ): rate
        for rate in TaxRate.objects.filter(
            country_id__in={key[1] for key in wanted}, tax_class__in=classes.values()
        )
    }
    new: list[TaxRate] = []
    changed: list[TaxRate] = []
    for key, (rate, valid_to) in wanted.items():
        code, country, region, valid_from = key
        if region and region not in regions:
            continue  # a state the geography does not know
        current = existing.get(key)
        if current is None:
            new.append(
                TaxRate(
                    tax_class=classes[code],
                    country_id=country,
                    region_id=regions[region] if region else None,
                    valid_from=valid_from,
                    valid_to=valid_to,
                    rate=rate,
                )
            )
        elif (current.rate, current.valid_to) != (rate, valid_to):
            current.rate, current.valid_to = rate, valid_to
            changed.append(current)
    TaxRate.objects.bulk_create(new)
    TaxRate.objects.bulk_update(changed, ["rate", "valid_to"])
    return len(new) + len(changed)


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
    tax_rates_demo_setup(tax_classes_demo_setup())

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
    # Approved dealer applications in Europe join this group.
    Market.objects.filter(pk=markets["eu"].pk).update(dealer_group=dealer)
    return lists


# Euro list prices of the generated products, by kind (``catalog.demo.KINDS``).
PRICE_RANGES: dict[str, tuple[int, int]] = {
    "tshirt": (19, 39),
    "shirt": (39, 79),
    "sweater": (49, 119),
    "trousers": (49, 99),
    "shorts": (25, 49),
    "mug": (12, 24),
    "plate": (14, 34),
    "towel": (15, 45),
    "blanket": (59, 149),
    "tote": (15, 59),
    "backpack": (69, 189),
    "scarf": (25, 89),
}
TRY_PER_EUR = 34
SALE_DAYS = 30


@dataclass(frozen=True)
class DemoOffer:
    """A demo product's retail prices and the stock of each of its variants."""

    eur_price: Decimal
    try_price: Decimal
    compare_at_eur: Decimal | None = None
    sale_eur: Decimal | None = None
    stock: dict[str, list[int]] = field(default_factory=dict)  # pool → quantity per SKU


# The two items the documentation and tests refer to, by product key.
REFERENCE_OFFERS = {
    "KRV-TEE": DemoOffer(
        eur_price=Decimal("29.90"),
        try_price=Decimal("999.90"),
        stock={"istanbul": [25, 40, 30], "rotterdam": [50, 60, 45]},
    ),
    "KRV-MUG": DemoOffer(
        eur_price=Decimal("14.90"),
        try_price=Decimal("499.90"),
        stock={"istanbul": [20], "rotterdam": [35]},
    ),
}


def _charm(amount: Decimal) -> Decimal:
    return amount.to_integral_value() - Decimal("0.10")


def demo_offer(spec: ProductSpec, *, seed: int = 7) -> DemoOffer:
    """The reference prices, or deterministic ones from the product's key and ``seed``.

    About one product in ten has a compare-at price, one in ten is on sale;
    about 8 % are sold out (all that allow backorder), 10 % run low.
    """
    reference = REFERENCE_OFFERS.get(spec.key)
    if reference is not None:
        return reference
    rng = random.Random(f"{seed}:{spec.key}")
    eur = _charm(Decimal(rng.randint(*PRICE_RANGES[spec.kind.code])))
    roll = rng.random()
    stock_roll = rng.random()
    skus = spec.skus
    if spec.backorder or stock_roll < 0.06:
        stock = {"istanbul": [0] * len(skus), "rotterdam": [0] * len(skus)}
    elif stock_roll < 0.16:
        stock = {
            "istanbul": [rng.randint(0, 2) for _ in skus],
            "rotterdam": [rng.randint(1, 3) for _ in skus],
        }
    else:
        stock = {
            "istanbul": [rng.randint(0, 40) for _ in skus],
            "rotterdam": [rng.randint(5, 80) for _ in skus],
        }
    return DemoOffer(
        eur_price=eur,
        try_price=_charm(eur * TRY_PER_EUR),
        compare_at_eur=_charm(eur * Decimal("1.3")) if roll < 0.1 else None,
        sale_eur=_charm(eur * Decimal("0.8")) if 0.1 <= roll < 0.2 else None,
        stock=stock,
    )


def demo_offers_create(specs: Sequence[ProductSpec], *, seed: int = 7) -> int:
    """Retail prices (EUR, TRY) and stock in the demo pools for the specs' variants.

    Run after ``pricing_demo_setup`` and ``catalog.demo.products_bulk_create``;
    prices and stock already there are kept. Derived lists follow when the
    caller runs ``derived_prices_rebuild``. Returns the number of variants.
    """
    lists = {
        price_list.code: price_list
        for price_list in PriceList.objects.filter(code__in=["eur-retail", "try-retail"])
    }
    pools = {pool.code: pool for pool in StockPool.objects.all()}
    variants = {
        sku: (variant_id, allows_backorder)
        for sku, variant_id, allows_backorder in Variant.objects.filter(
            sku__in=[sku for spec in specs for sku, _size in spec.skus]
        )
        .values_list("sku", "pk", "allows_backorder")
        .order_by()
    }
    sale_ends_at = timezone.now() + timedelta(days=SALE_DAYS)
    entries: list[PriceEntry] = []
    levels: list[StockLevel] = []
    for spec in specs:
        offer = demo_offer(spec, seed=seed)
        for index, (sku, _size) in enumerate(spec.skus):
            variant_id, allows_backorder = variants[sku]
            entries.append(
                PriceEntry(
                    price_list=lists["eur-retail"],
                    variant_id=variant_id,
                    amount=offer.eur_price,
                    compare_at_amount=offer.compare_at_eur,
                    sale_amount=offer.sale_eur,
                    sale_ends_at=sale_ends_at if offer.sale_eur else None,
                )
            )
            entries.append(
                PriceEntry(
                    price_list=lists["try-retail"],
                    variant_id=variant_id,
                    amount=offer.try_price,
                    compare_at_amount=_charm(offer.compare_at_eur * TRY_PER_EUR)
                    if offer.compare_at_eur
                    else None,
                )
            )
            levels.extend(
                StockLevel(
                    variant_id=variant_id,
                    pool=pools[pool_code],
                    quantity=quantities[index],
                    allows_backorder=allows_backorder,
                )
                for pool_code, quantities in offer.stock.items()
            )
    entries.sort(key=lambda entry: (entry.price_list_id, entry.variant_id))  # key order
    with transaction.atomic():
        PriceEntry.objects.bulk_create(entries, batch_size=5000, ignore_conflicts=True)
        StockLevel.objects.bulk_create(levels, batch_size=5000, ignore_conflicts=True)
        price_lists_changed(price_list.pk for price_list in lists.values())
        stock_changed(variant_id for variant_id, _backorder in variants.values())
    return len(variants)
