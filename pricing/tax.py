"""Tax rates in force: one query for any set of countries."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext

from catalog.models import Product, TaxClass
from pricing.models import PriceList, TaxRate
from shop.config_cache import config_cached
from shop.models import MarketCountry
from shop.versions import PRICING

logger = logging.getLogger(__name__)


class MissingTaxRate(Exception):
    """No tax rate is in force for a tax class where something is sold: never sell untaxed."""

    def __init__(self, *, country: str, tax_class_id: int | None, region: str = "") -> None:
        self.country = country
        self.tax_class_id = tax_class_id
        self.region = region
        super().__init__(f"no tax rate for tax class {tax_class_id} in {region or country}")

    @property
    def message(self) -> str:
        """What the merchant must do, in the active language."""
        return gettext(
            "No tax rate is set for tax class %(tax_class)s in %(place)s. "
            "Add one under Catalogue › Tax classes before selling there."
        ) % {"tax_class": self.tax_class_id, "place": self.region or self.country}


# (country, tax class id) → rate in percent
TaxTable = dict[tuple[str, int], Decimal]


def tax_table(countries: Iterable[str], *, on: date) -> TaxTable:
    """Country-wide rates in force on ``on`` for every tax class, keyed by (country, tax class).

    Cached until a tax rate (or anything else shown in the shop) changes.
    """
    codes = sorted({country.upper() for country in countries if country})
    key = f"tax-table:{on.isoformat()}:{','.join(codes)}"
    return config_cached(PRICING, key, lambda: _load_tax_table(codes, on), timeout=60 * 60)


def _load_tax_table(codes: list[str], on: date) -> TaxTable:
    rows = (
        TaxRate.objects.filter(country_id__in=codes, region__isnull=True, valid_from__lte=on)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=on))
        .order_by("country_id", "tax_class_id", "-valid_from")
        .values_list("country_id", "tax_class_id", "rate")
    )
    table: TaxTable = {}
    for country, tax_class_id, rate in rows:
        table.setdefault((country, tax_class_id), rate)  # latest start wins
    return table


def rate_required(table: TaxTable, country: str, tax_class_id: int) -> Decimal:
    """The country-wide rate of the tax class from ``table``; raises ``MissingTaxRate``.

    No row means nobody entered the rate, never "no tax": countries without a
    national tax (the US) hold explicit 0 % rows. For checkout and invoices.
    """
    rate = table.get((country.upper(), tax_class_id)) if country else None
    if rate is None:
        raise MissingTaxRate(country=country, tax_class_id=tax_class_id)
    return rate


_missing_reported: set[tuple[str, int]] = set()
_missing_reported_lock = threading.Lock()


def rate_in(table: TaxTable, country: str | None, tax_class_id: int) -> Decimal:
    """The rate from ``table`` for showing prices; no country (a net list) means no tax.

    A missing rate is a configuration mistake: it is logged as an error once
    per country and tax class in this process, and 0 is used so that pages
    still show. Checkout calls ``rate_required`` and stops the sale instead.
    """
    if not country:
        return Decimal(0)
    try:
        return rate_required(table, country, tax_class_id)
    except MissingTaxRate as missing:
        key = (missing.country, tax_class_id)
        with _missing_reported_lock:
            first_time = key not in _missing_reported
            _missing_reported.add(key)
        if first_time:
            logger.error(
                "Missing tax rate: %s (prices shown without this tax; checkout refuses)",
                missing,
                extra={"country": missing.country, "tax_class_id": tax_class_id},
            )
        return Decimal(0)


class MissingRate(NamedTuple):
    """A country where something is sold, and a tax class without a rate there."""

    country: str
    tax_class: TaxClass


def missing_tax_rates(*, on: date | None = None) -> list[MissingRate]:
    """(country, tax class) pairs without a country-wide rate in force on ``on`` (today).

    Countries: those served by active markets, and the tax countries of price
    lists whose prices include tax. Tax classes: those products use. Each
    pair listed stops checkout there until the merchant adds the rate.
    """
    on = on or timezone.localdate()
    countries = set(
        MarketCountry.objects.filter(is_market_active=True).values_list("country_id", flat=True)
    ) | set(
        PriceList.objects.filter(includes_tax=True, tax_country__isnull=False).values_list(
            "tax_country_id", flat=True
        )
    )
    classes = list(
        TaxClass.objects.filter(Exists(Product.objects.filter(tax_class=OuterRef("pk")))).order_by(
            "code"
        )
    )
    if not countries or not classes:
        return []
    present = _load_tax_table(sorted(countries), on)
    return [
        MissingRate(country, tax_class)
        for country in sorted(countries)
        for tax_class in classes
        if (country, tax_class.pk) not in present
    ]
