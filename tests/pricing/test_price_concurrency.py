"""Price writes under real parallel database sessions: rebuilds, currency lock, cycles."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.db import IntegrityError, connections, transaction

from catalog.models import Product, ProductType, TaxClass, Variant
from pricing.derivation import price_list_rebuild
from pricing.models import PriceEntry, PriceList

# Committed data, so that other connections see it; restored afterwards like
# the other tests that commit (tests/pricing/test_stock_concurrency.py).
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

VARIANTS = 3000  # more than one batch of the rebuild


def in_parallel(*work: Callable[[], object]) -> list[object]:
    """Run each callable in its own thread and database connection, started together.

    Returns their results, or the exception each raised.
    """
    start = threading.Barrier(len(work))
    results: list[object] = [None] * len(work)

    def run(index: int) -> None:
        try:
            start.wait()
            results[index] = work[index]()
        except Exception as error:
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(work))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.fixture
def priced_lists():
    """A list typed by hand with VARIANTS prices, stored against key order, and one derived."""
    product = Product.objects.create(
        product_type=ProductType.objects.create(name="Mug"),
        tax_class=TaxClass.objects.create(code="standard", name="Standard"),
    )
    variants = Variant.objects.bulk_create(
        Variant(product=product, sku=f"PAR-{number}") for number in range(VARIANTS)
    )
    source = PriceList.objects.create(code="src", name="Source", currency="EUR", includes_tax=False)
    derived = PriceList.objects.create(
        code="dst",
        name="Derived",
        currency="EUR",
        includes_tax=False,
        source=source,
        adjustment_percent=Decimal("10"),
    )
    PriceEntry.objects.bulk_create(
        PriceEntry(price_list=source, variant=variant, amount=Decimal("10") + variant.pk % 7)
        for variant in reversed(variants)
    )
    return source, derived, variants


def test_two_rebuilds_at_once_finish_without_deadlock(priced_lists):
    source, derived, variants = priced_lists
    price_list_rebuild(derived)  # every derived price exists, so both rebuilds update rows
    PriceEntry.objects.filter(price_list=source).update(amount=Decimal("20"))
    all_ids = [variant.pk for variant in variants]

    results = in_parallel(
        lambda: price_list_rebuild(derived),
        lambda: price_list_rebuild(derived, variant_ids=all_ids),
    )

    assert [getattr(report, "updated", report) for report in results] == [VARIANTS, VARIANTS]
    assert set(PriceEntry.objects.filter(price_list=derived).values_list("amount", flat=True)) == {
        Decimal("22.00")
    }


def test_a_currency_change_waits_for_a_first_price_and_is_then_refused(priced_lists):
    # given: a new list without prices
    fresh = PriceList.objects.create(code="fresh", name="Fresh", currency="EUR", includes_tax=False)
    variant = priced_lists[2][0]
    price_inserted = threading.Event()

    def first_price() -> None:
        with transaction.atomic():
            PriceEntry.objects.create(price_list=fresh, variant=variant, amount=Decimal("5"))
            price_inserted.set()
            time.sleep(0.5)  # the currency change arrives before this commits

    def currency_change() -> int:
        price_inserted.wait(timeout=10)
        return PriceList.objects.filter(pk=fresh.pk).update(currency="USD")

    # when
    _inserted, changed = in_parallel(first_price, currency_change)

    # then: the change waited for the price, saw it and was refused
    assert isinstance(changed, IntegrityError)
    fresh.refresh_from_db()
    assert fresh.currency == "EUR" and fresh.entries.count() == 1


def test_two_source_changes_at_once_cannot_close_a_cycle(priced_lists):
    first = PriceList.objects.create(code="one", name="One", currency="EUR", includes_tax=False)
    second = PriceList.objects.create(code="two", name="Two", currency="EUR", includes_tax=False)
    first_changed = threading.Event()

    def first_from_second() -> int:
        with transaction.atomic():
            changed = PriceList.objects.filter(pk=first.pk).update(source=second)
            first_changed.set()
            time.sleep(0.5)  # the other change arrives before this commits
            return changed

    def second_from_first() -> int:
        first_changed.wait(timeout=10)
        return PriceList.objects.filter(pk=second.pk).update(source=first)

    results = in_parallel(first_from_second, second_from_first)

    assert results[0] == 1 and isinstance(results[1], IntegrityError)
    second.refresh_from_db()
    assert second.source_id is None
