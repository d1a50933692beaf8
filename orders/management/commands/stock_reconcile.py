"""Report (and with --fix repair) stock levels whose reservations do not add up."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from orders.selectors import stock_drift
from orders.services import stock_reconcile


class Command(BaseCommand):
    help = (
        "Compare each stock level's reserved units with the sum of its open reservations; "
        "--fix corrects the levels that drifted."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--fix", action="store_true", help="Repair the drifted levels.")

    def handle(self, *args: Any, **options: Any) -> None:
        drifts = stock_drift()
        if not drifts:
            self.stdout.write(self.style.SUCCESS("Reservations and stock levels agree."))
            return
        for drift in drifts:
            self.stdout.write(
                f"{drift.sku} @ {drift.pool_code}: reserved {drift.reserved}, "
                f"open reservations {drift.open_reservations} "
                f"(difference {drift.difference:+d})"
            )
        if not options["fix"]:
            self.stdout.write(f"{len(drifts)} drifted. Run with --fix to repair.")
            return
        unfixed = stock_reconcile(fix=True)
        fixed = len(drifts) - len(unfixed)
        self.stdout.write(self.style.SUCCESS(f"{fixed} repaired."))
        if unfixed:
            raise CommandError(
                f"{len(unfixed)} could not be repaired (not enough stock to hold the open "
                "reservations): "
                + ", ".join(f"{drift.sku} @ {drift.pool_code}" for drift in unfixed)
            )
