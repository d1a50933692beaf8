"""Derived price lists: prices computed from another list by the list's rule."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from catalog.services import all_products_changed, variants_changed
from pricing.models import MAX_DERIVATION_DEPTH, PriceEntry, PriceList
from pricing.money import HUNDRED, add_tax, remove_tax, round_price
from pricing.rates import latest_rates
from pricing.tax import MissingTaxRate, TaxTable, rate_required, tax_table
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
        """Source price → this list's price (see PriceList for the steps).

        Zero when the rule takes the price to zero or below; raises
        ``MissingTaxRate`` when a tax to take out or add has no rate.
        """
        net = source_amount
        if self.source_includes_tax:
            source_rate = rate_required(taxes, self.source_tax_country or "", tax_class_id)
            net = remove_tax(net, source_rate)
        adjusted = net * (1 + self.adjustment_percent / HUNDRED) + self.adjustment_amount
        converted = adjusted * self.conversion_factor
        if self.target_includes_tax:
            target_rate = rate_required(taxes, self.target_tax_country or "", tax_class_id)
            converted = add_tax(converted, target_rate)
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
    depth: int = 1,
) -> RebuildReport:
    """Recompute a derived list (all variants, or ``variant_ids``) and lists derived from it.

    Manual entries are left alone. Entries whose source price disappeared are
    removed on a full rebuild. Prices the rule would take to zero or below,
    or that need a tax rate nobody entered, are left out and reported.
    Entries are written in key order (variant), lists parents first, and a
    rebuild holds its list locked: two rebuilds at once wait for each other
    instead of deadlocking. ``depth``
    counts the steps from the list typed by hand; past
    ``MAX_DERIVATION_DEPTH`` nothing more is recomputed.
    """
    report = RebuildReport(price_list.code)
    if depth > MAX_DERIVATION_DEPTH:
        report.problem = gettext(
            "derived more than %(depth)d steps away from a list typed by hand"
        ) % {"depth": MAX_DERIVATION_DEPTH}
        return report
    rates = rates if rates is not None else latest_rates()
    on = on or timezone.localdate()
    with transaction.atomic():
        price_list = _rule_lists_locked(price_list)
        rule = price_rule_for(price_list, rates=rates)
        if isinstance(rule, str):
            report.problem = rule
            return report
        assert price_list.source_id is not None
        countries = [c for c in (rule.source_tax_country, rule.target_tax_country) if c]
        taxes = tax_table(countries, on=on)
        _rebuild_entries(price_list, rule, taxes, variant_ids, report)
    for follower in price_list.derived_lists.select_related("source").order_by("code"):
        report.followers.append(
            price_list_rebuild(
                follower, variant_ids=variant_ids, rates=rates, on=on, depth=depth + 1
            )
        )
    return report


def _rule_lists_locked(price_list: PriceList) -> PriceList:
    """The list and its source as committed now, locked until the transaction ends.

    The source is share-locked (its currency and prices stay as read), then
    the list itself is locked for update: a second rebuild of the same list
    waits here, before writing anything, and a change of either list's rule
    or currency waits for this rebuild. Locks go from source to derived list,
    the order rebuilds follow, so rebuilds along a chain queue up instead of
    deadlocking.
    """
    if price_list.source_id is not None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id FROM pricing_pricelist WHERE id = %s FOR SHARE", [price_list.source_id]
            )
    return (
        PriceList.objects.select_for_update(no_key=True, of=("self",))
        .select_related("source")
        .get(pk=price_list.pk)
    )


def _rebuild_entries(
    price_list: PriceList,
    rule: PriceRule,
    taxes: TaxTable,
    variant_ids: Collection[int] | None,
    report: RebuildReport,
) -> None:
    source_entries = PriceEntry.objects.filter(price_list_id=price_list.source_id)
    own_entries = PriceEntry.objects.filter(price_list=price_list)
    if variant_ids is not None:
        source_entries = source_entries.filter(variant_id__in=variant_ids)
        own_entries = own_entries.filter(variant_id__in=variant_ids)
    manual = set(own_entries.filter(is_manual=True).values_list("variant_id", flat=True))
    report.kept_manual = len(manual)
    rows = (
        source_entries.exclude(variant_id__in=manual)
        .order_by("variant_id")
        .values_list(
            "variant_id",
            "amount",
            "compare_at_amount",
            "sale_amount",
            "sale_starts_at",
            "sale_ends_at",
            F("variant__product__tax_class_id"),
        )
    )
    now = timezone.now()
    batch: list[PriceEntry] = []
    left_out: list[int] = []
    not_positive = sales_dropped = 0
    missing: dict[tuple[str, int | None], int] = {}
    for variant_id, amount, compare_at, sale, starts, ends, tax_class_id in rows.iterator(
        chunk_size=BATCH_SIZE
    ):
        try:
            derived = rule.derive(amount, tax_class_id, taxes)
            derived_compare_at = (
                None if compare_at is None else rule.derive(compare_at, tax_class_id, taxes)
            )
            derived_sale = None if sale is None else rule.derive(sale, tax_class_id, taxes)
        except MissingTaxRate as no_rate:
            key = (no_rate.country, no_rate.tax_class_id)
            missing[key] = missing.get(key, 0) + 1
            left_out.append(variant_id)
            continue
        if derived <= 0:
            # A rule that takes a price to zero (a large negative fixed
            # adjustment) must not put the item on sale for free.
            not_positive += 1
            left_out.append(variant_id)
            continue
        if derived_sale is not None and derived_sale <= 0:
            # Nor may it give the item away during a sale: the sale is left out.
            sales_dropped += 1
            derived_sale = starts = ends = None
        batch.append(
            PriceEntry(
                price_list=price_list,
                variant_id=variant_id,
                amount=derived,
                compare_at_amount=derived_compare_at if derived_compare_at else None,
                sale_amount=derived_sale,
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
        ~Exists(has_source) | Q(variant_id__in=left_out)
    )
    report.removed, _deleted = stale.delete()
    problems = []
    if not_positive:
        problems.append(
            gettext("%(count)d prices would be zero or less under this rule and were left out")
            % {"count": not_positive}
        )
    if sales_dropped:
        problems.append(
            ngettext(
                "%(count)d sale price would be zero or less under this rule: "
                "that sale was left out",
                "%(count)d sale prices would be zero or less under this rule: "
                "those sales were left out",
                sales_dropped,
            )
            % {"count": sales_dropped}
        )
    for (country, tax_class_id), count in sorted(missing.items(), key=str):
        problems.append(
            MissingTaxRate(country=country, tax_class_id=tax_class_id).message
            + " "
            + gettext("%(count)d prices were left out.") % {"count": count}
        )
    report.problem = "; ".join(problems)
    PriceList.objects.filter(pk=price_list.pk).update(updated_at=now)
    versions.retire(versions.price_list(price_list.pk))
    source = f"price-list:{price_list.pk}"
    if variant_ids is None:
        all_products_changed(source=source)
    else:
        variants_changed(variant_ids, source=source)


def _upsert(entries: list[PriceEntry]) -> int:
    if not entries:
        return 0
    # Rows are locked in key order: two writers of the same prices queue up.
    entries.sort(key=lambda entry: (entry.price_list_id, entry.variant_id))
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
