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
from catalog.models import Variant
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
    classes = tax_classes_demo_setup()
    for country, (standard, reduced, since) in VAT_RATES.items():
        for code, rate in (("standard", standard), ("reduced", reduced), ("zero", "0")):
            TaxRate.objects.update_or_create(
                tax_class=classes[code],
                country_id=country,
                region=None,
                valid_from=since,
                defaults={"rate": Decimal(rate)},
            )
    for region_code, rate in US_STATE_RATES.items():
        region = Region.objects.get(code=region_code)
        for code in ("standard", "reduced"):
            TaxRate.objects.update_or_create(
                tax_class=classes[code],
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
    with transaction.atomic():
        PriceEntry.objects.bulk_create(entries, batch_size=5000, ignore_conflicts=True)
        StockLevel.objects.bulk_create(levels, batch_size=5000, ignore_conflicts=True)
        price_lists_changed(price_list.pk for price_list in lists.values())
        stock_changed(variant_id for variant_id, _backorder in variants.values())
    return len(variants)
