"""The listing section of ``make bench``: how fast the listing table follows bulk changes.

Two changes a shop makes in bulk, each timed twice: the change itself, and
``listing_refresh`` bringing the listing table up to date afterwards (what
the Celery beat task does a few seconds later):

- an exchange-rate update that re-derives every price of the derived lists
  (USD, GBP, dealers), as the daily ECB update does;
- a stock import setting the quantity of every variant in the first pool,
  about one in ten to zero, as an ERP feed does.

Runs in-process against the bench database; it changes prices and stock, so
it runs after the page and checkout sections.
"""

from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from typing import Any

SEED = 2024


@dataclass
class Step:
    name: str
    rows: int  # prices or stock levels written
    change_seconds: float
    refresh_seconds: float
    listing_rows: int  # listing rows written or removed

    @property
    def total_seconds(self) -> float:
        return self.change_seconds + self.refresh_seconds


def run() -> list[Step]:
    from pricing.listing_upkeep import listing_refresh

    listing_refresh()  # start from an up-to-date table
    return [_exchange_rates(listing_refresh), _stock_import(listing_refresh)]


def _exchange_rates(refresh: Any) -> Step:
    from pricing.models import ExchangeRate
    from pricing.rates import UpdateReport, rates_update

    newest = ExchangeRate.objects.order_by("currency", "effective_date", "id")
    latest = {rate.currency: rate.rate for rate in newest}  # the newest wins
    # Every rate 1 % up: every derived price moves.
    moved = {
        currency: (rate * Decimal("1.01")).quantize(Decimal("0.0001"))
        for currency, rate in latest.items()
    }
    started = time.monotonic()
    report: UpdateReport = rates_update(document=_ecb_document(date.today(), moved))
    changed = time.monotonic() - started
    listing = refresh()
    return Step(
        name="exchange rates (derived prices)",
        rows=sum(price_list.updated for price_list in report.price_lists),
        change_seconds=changed,
        refresh_seconds=listing.seconds,
        listing_rows=listing.written + listing.removed,
    )


def _stock_import(refresh: Any) -> Step:
    from pricing.models import StockLevel
    from pricing.services import stock_quantities_set

    pool_id = StockLevel.objects.order_by("pool_id").values_list("pool_id", flat=True).first()
    rng = random.Random(SEED)
    variant_ids = StockLevel.objects.filter(pool_id=pool_id).values_list("variant_id", flat=True)
    quantities = {
        variant_id: 0 if rng.random() < 0.1 else rng.randint(1, 200) for variant_id in variant_ids
    }
    started = time.monotonic()
    written = stock_quantities_set(pool_id=pool_id, quantities=quantities)
    changed = time.monotonic() - started
    listing = refresh()
    return Step(
        name=f"stock import ({len(quantities)} levels)",
        rows=written,
        change_seconds=changed,
        refresh_seconds=listing.seconds,
        listing_rows=listing.written + listing.removed,
    )


def _ecb_document(day: date, rates: dict[str, Decimal]) -> bytes:
    cubes = "".join(f"<Cube currency='{c}' rate='{r}'/>" for c, r in sorted(rates.items()))
    return (
        "<?xml version='1.0' encoding='UTF-8'?>"
        "<gesmes:Envelope xmlns:gesmes='http://www.gesmes.org/xml/2002-08-01'"
        " xmlns='http://www.ecb.int/vocabulary/2002-08-01/eurofxref'>"
        "<gesmes:subject>Reference rates</gesmes:subject>"
        f"<Cube><Cube time='{day.isoformat()}'>{cubes}</Cube></Cube>"
        "</gesmes:Envelope>"
    ).encode()


def results(steps: list[Step]) -> list[dict[str, Any]]:
    return [{**asdict(step), "total_seconds": round(step.total_seconds, 2)} for step in steps]


def table(steps: list[Step]) -> str:
    lines = [
        "Listing table after bulk changes",
        f"  {'change':38} {'rows':>8} {'change s':>9} {'listing s':>10} {'rows':>8}",
    ]
    for step in steps:
        lines.append(
            f"  {step.name:38} {step.rows:8d} {step.change_seconds:9.1f} "
            f"{step.refresh_seconds:10.1f} {step.listing_rows:8d}"
        )
    return "\n".join(lines)
