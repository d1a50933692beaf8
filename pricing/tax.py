"""Tax rates in force: one query for any set of countries."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from django.core.cache import cache
from django.db.models import Q
from django.utils.translation import gettext

from pricing.models import TaxRate
from shop.versions import PRICING, version


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
    key = f"pricing:tax-table:{version(PRICING)}:{on.isoformat()}:{','.join(codes)}"
    table: TaxTable | None = cache.get(key)
    if table is None:
        table = _load_tax_table(codes, on)
        cache.set(key, table, 60 * 60)
    return table


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


def rate_in(table: TaxTable, country: str | None, tax_class_id: int) -> Decimal:
    """The rate from ``table``; no row means no tax (e.g. US federal level)."""
    if not country:
        return Decimal(0)
    return table.get((country, tax_class_id), Decimal(0))
