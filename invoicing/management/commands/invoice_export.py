"""``manage.py invoice_export DE-2026-000001 --format pdf --output invoice.pdf``
(or ``--order KRV-2026-000042`` for the order's invoice): write a document as
PDF or as its structured XML (UBL)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from invoicing.models import Invoice
from invoicing.pdf import invoice_pdf
from invoicing.services import invoice_for_order
from orders.selectors import order_for_number


class Command(BaseCommand):
    help = "Write an invoice or credit note as PDF or UBL XML."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("number", nargs="?", help="Document number, e.g. DE-2026-000001.")
        parser.add_argument("--order", help="An order number: its invoice.")
        parser.add_argument("--format", required=True, choices=["pdf", "ubl"])
        parser.add_argument(
            "--output", required=True, help="File to write ('-' for standard output, UBL only)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if bool(options["number"]) == bool(options["order"]):
            raise CommandError("Give a document number or --order ORDER_NUMBER (one of them).")
        if options["order"]:
            order = order_for_number(options["order"])
            if order is None:
                raise CommandError(f"No order {options['order']!r}.")
            document = invoice_for_order(order)
            if document is None:
                raise CommandError(
                    f"Order {order.number} has no invoice yet: "
                    f"run invoice_issue --order {order.number}."
                )
        else:
            document = Invoice.objects.filter(number=options["number"].strip().upper()).first()
            if document is None:
                raise CommandError(f"No invoice or credit note {options['number']!r}.")
        content = invoice_pdf(document) if options["format"] == "pdf" else document.xml.encode()
        if options["output"] == "-":
            if options["format"] == "pdf":
                raise CommandError("A PDF cannot be written to standard output: give a file.")
            self.stdout.write(content.decode())
            return
        path = Path(options["output"])
        if not path.parent.exists():
            raise CommandError(f"The folder {path.parent} does not exist.")
        path.write_bytes(content)
        self.stdout.write(f"{document.display_number} written to {path} ({len(content)} bytes).")
