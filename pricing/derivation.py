"""Derived price lists: prices computed from another list by the list's rule."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext

from pricing.models import PriceEntry, PriceList
from pricing.money import HUNDRED, add_tax, remove_tax, round_price
from pricing.rates import latest_rates
from pricing.tax import TaxTable, rate_in, tax_table
from shop import versions

BATCH_SIZE = 2000


@dataclass(frozen=True)
class PriceRule:
    """Everything needed to derive one list's prices from its source's."""

    source_includes_tax: bool
    source_tax_country: str | None
    target_includes_tax: bool
    target_tax_country: str | None
    target_currency: str
    adjustment_percent: Decimal
    adjustment_amount: Decimal
    conversion_factor: Decimal  # target units per source unit
    rounding: str

    def derive(self, source_amount: Decimal, tax_class_id: int, taxes: TaxTable) -> Decimal:
        """Source price → this list's price (see PriceList for the steps)."""
        net = source_amount
        if self.source_includes_tax:
            net = remove_tax(net, rate_in(taxes, self.source_tax_country, tax_class_id))
        adjusted = net * (1 + self.adjustment_percent / HUNDRED) + self.adjustment_amount
        converted = adjusted * self.conversion_factor
        if self.target_includes_tax:
            converted = add_tax(converted, rate_in(taxes, self.target_tax_country, tax_class_id))
        return round_price(converted, self.rounding, self.target_currency)


@dataclass
class RebuildReport:
    price_list: str
    updated: int = 0
    removed: int = 0
    kept_manual: int = 0
    problem: str = ""
    followers: list[RebuildReport] = field(default_factory=list)

    @property
    def total_updated(self) -> int:
        return self.updated + sum(report.total_updated for report in self.followers)


def price_rule_for(
    price_list: PriceList, *, rates: dict[str, Decimal] | None = None
) -> PriceRule | str:
    """The list's rule, or a sentence saying why it cannot be applied."""
    source = price_list.source
    if source is None:
        return gettext("%(code)s is not derived from another list") % {"code": price_list.code}
    rates = rates if rates is not None else latest_rates()
    missing = [c for c in (source.currency, price_list.currency) if c not in rates]
    if missing:
        return gettext(
            "no exchange rate for %(currencies)s: run update_rates or add one by hand"
        ) % {"currencies": ", ".join(missing)}
    return PriceRule(
        source_includes_tax=source.includes_tax,
        source_tax_country=source.tax_country_id,
        target_includes_tax=price_list.includes_tax,
        target_tax_country=price_list.tax_country_id,
        target_currency=price_list.currency,
        adjustment_percent=price_list.adjustment_percent,
        adjustment_amount=price_list.adjustment_amount,
        conversion_factor=rates[price_list.currency] / rates[source.currency],
        rounding=price_list.rounding,
    )


def price_list_rebuild(
    price_list: PriceList,
    *,
    variant_ids: Collection[int] | None = None,
    rates: dict[str, Decimal] | None = None,
    on: date | None = None,
) -> RebuildReport:
    """Recompute a derived list (all variants, or ``variant_ids``) and lists derived from it.

    Manual entries are left alone. Entries whose source price disappeared are
    removed on a full rebuild.
    """
    report = RebuildReport(price_list.code)
    rates = rates if rates is not None else latest_rates()
    rule = price_rule_for(price_list, rates=rates)
    if isinstance(rule, str):
        report.problem = rule
        return report
    assert price_list.source_id is not None
    on = on or timezone.localdate()
    taxes = tax_table([c for c in (rule.source_tax_country, rule.target_tax_country) if c], on=on)
    with transaction.atomic():
        source_entries = PriceEntry.objects.filter(price_list_id=price_list.source_id)
        own_entries = PriceEntry.objects.filter(price_list=price_list)
        if variant_ids is not None:
            source_entries = source_entries.filter(variant_id__in=variant_ids)
            own_entries = own_entries.filter(variant_id__in=variant_ids)
        manual = set(own_entries.filter(is_manual=True).values_list("variant_id", flat=True))
        report.kept_manual = len(manual)
        rows = source_entries.exclude(variant_id__in=manual).values_list(
            "variant_id",
            "amount",
            "compare_at_amount",
            "sale_amount",
            "sale_starts_at",
            "sale_ends_at",
            F("variant__product__tax_class_id"),
        )
        now = timezone.now()
        batch: list[PriceEntry] = []
        not_positive: list[int] = []
        for variant_id, amount, compare_at, sale, starts, ends, category in rows.iterator(
            chunk_size=BATCH_SIZE
        ):
            derived = rule.derive(amount, category, taxes)
            if derived <= 0:
                # A rule that takes a price to zero (a large negative fixed
                # adjustment) must not put the item on sale for free.
                not_positive.append(variant_id)
                continue
            batch.append(
                PriceEntry(
                    price_list=price_list,
                    variant_id=variant_id,
                    amount=derived,
                    compare_at_amount=None
                    if compare_at is None
                    else rule.derive(compare_at, category, taxes),
                    sale_amount=None if sale is None else rule.derive(sale, category, taxes),
                    sale_starts_at=starts,
                    sale_ends_at=ends,
                    is_manual=False,
                    updated_at=now,
                )
            )
            if len(batch) >= BATCH_SIZE:
                report.updated += _upsert(batch)
                batch = []
        report.updated += _upsert(batch)
        has_source = PriceEntry.objects.filter(
            price_list_id=price_list.source_id, variant_id=OuterRef("variant_id")
        )
        stale = own_entries.filter(is_manual=False).filter(
            ~Exists(has_source) | Q(variant_id__in=not_positive)
        )
        report.removed, _ = stale.delete()
        if not_positive:
            report.problem = gettext(
                "%(count)d prices would be zero or less under this rule and were left out"
            ) % {"count": len(not_positive)}
        PriceList.objects.filter(pk=price_list.pk).update(updated_at=now)
        versions.retire(versions.price_list(price_list.pk))
    for follower in price_list.derived_lists.select_related("source").order_by("code"):
        report.followers.append(
            price_list_rebuild(follower, variant_ids=variant_ids, rates=rates, on=on)
        )
    return report


def _upsert(entries: list[PriceEntry]) -> int:
    if not entries:
        return 0
    PriceEntry.objects.bulk_create(
        entries,
        update_conflicts=True,
        unique_fields=["price_list", "variant"],
        update_fields=[
            "amount",
            "compare_at_amount",
            "sale_amount",
            "sale_starts_at",
            "sale_ends_at",
            "updated_at",
        ],
    )
    return len(entries)


def derived_prices_rebuild(*, variant_ids: Collection[int] | None = None) -> list[RebuildReport]:
    """Rebuild every derived list, sources before the lists derived from them."""
    rates = latest_rates()
    roots = PriceList.objects.filter(source__isnull=True, derived_lists__isnull=False).distinct()
    reports = []
    for root in roots.order_by("code"):
        for derived in root.derived_lists.select_related("source").order_by("code"):
            reports.append(price_list_rebuild(derived, variant_ids=variant_ids, rates=rates))
    return reports
