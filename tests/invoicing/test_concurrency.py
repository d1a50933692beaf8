"""Invoice numbers under real parallel database sessions: gapless and unique."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import connections, transaction
from django.utils import timezone

from invoicing.models import DocumentKind, Invoice, InvoiceSeries
from invoicing.services import invoice_issue, number_next
from orders.models import Order
from tests.invoicing.conftest import paid_order

ORDERS = 8
ABANDONED = 3

# Committed data, so that other connections see it (as in the stock concurrency tests).
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


class Abandoned(Exception):
    """An issue that fails after it took a number (its transaction rolls back)."""


def run_together(jobs: list[Callable[[], None]]) -> list[BaseException]:
    start = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def run(job: Callable[[], None]) -> None:
        try:
            start.wait()
            job()
        except Abandoned:
            pass
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


def test_parallel_issues_make_a_gapless_series_without_duplicates(checkout_shop):
    orders = [paid_order() for _ in range(ORDERS)]
    seller = orders[0].seller

    def issue(order: Order) -> Callable[[], None]:
        return lambda: invoice_issue(order=order, by="test")

    def abandon() -> None:
        with transaction.atomic():
            number_next(
                seller=seller,
                kind=DocumentKind.INVOICE,
                country="DE",
                issue_date=timezone.localdate(),
            )
            raise Abandoned

    # Each order is issued twice at once (a retried task); some issues are abandoned.
    jobs = [issue(order) for order in orders] * 2 + [abandon] * ABANDONED
    assert run_together(jobs) == []

    numbers = sorted(
        Invoice.objects.filter(kind=DocumentKind.INVOICE).values_list("number", flat=True)
    )
    assert len(numbers) == ORDERS  # one invoice per order, however often it was issued
    sequence = sorted(int(number.rsplit("-", 1)[1]) for number in numbers)
    assert sequence == list(range(1, ORDERS + 1))  # no gap, no duplicate
    assert InvoiceSeries.objects.get(kind=DocumentKind.INVOICE, country="DE").last_number == ORDERS
