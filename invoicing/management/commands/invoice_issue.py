"""``manage.py invoice_issue --order KRV-2026-000042``: issue the order's invoice.

Idempotent: an order invoiced already reports its invoice and exits 0.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from invoicing.services import InvoicingError, invoice_for_order, invoice_issue
from orders.selectors import order_for_number


class Command(BaseCommand):
    help = "Issue the invoice of an order (an order invoiced already reports its invoice)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--order", required=True, help="Order number, e.g. KRV-2026-000042.")

    def handle(self, *args: Any, **options: Any) -> None:
        order = order_for_number(options["order"])
        if order is None:
            raise CommandError(f"No order {options['order']!r}.")
        before = invoice_for_order(order)
        try:
            invoice = invoice_issue(order=order, by="invoice_issue command")
        except InvoicingError as error:
            raise CommandError(error.message) from error
        verb = "was already invoiced" if before is not None else "is invoiced"
        self.stdout.write(
            f"Order {order.number} {verb}: {invoice.number} "
            f"({invoice.tax_inclusive:.2f} {invoice.currency}, e-invoice {invoice.e_profile})"
        )
