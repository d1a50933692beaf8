"""Record that an order's bank transfer (or cash on delivery) was received."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from orders.selectors import order_for_number
from payments.services import PaymentError, payment_confirm_received


class Command(BaseCommand):
    help = "Mark an order paid (bank transfer received); the same as the admin action."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("number", help="The order number, e.g. KRV-2026-000042.")
        parser.add_argument("--by", default="support", help="Who confirms (kept in the history).")

    def handle(self, *args: Any, **options: Any) -> None:
        order = order_for_number(options["number"])
        if order is None:
            raise CommandError(f"No order {options['number']!r}.")
        was_paid = order.paid_at is not None
        try:
            payment_confirm_received(order=order, by=options["by"])
        except PaymentError as error:
            raise CommandError(f"{order.number}: {error.message}") from error
        order.refresh_from_db()
        if was_paid:
            self.stdout.write(f"{order.number} was already paid; nothing changed.")
        else:
            self.stdout.write(self.style.SUCCESS(f"{order.number} is now {order.status}."))
