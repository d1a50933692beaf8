"""Bring the listing table up to date now (Celery beat does it every few seconds)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from catalog.models import ProductChange
from pricing.listing_upkeep import listing_rebuild_all, listing_refresh


class Command(BaseCommand):
    help = (
        "Derive the listing rows of changed products (and of contexts whose settings "
        "changed) now. --rebuild derives every row again, e.g. to repair the table."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--rebuild", action="store_true", help="Derive every context's rows again."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        waiting = ProductChange.objects.count()
        report = listing_rebuild_all() if options["rebuild"] else listing_refresh()
        if report.skipped:
            self.stdout.write(
                self.style.WARNING("Another refresh is running; it will take these changes too.")
            )
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Listing table up to date in {report.seconds:.1f} s: {waiting} noted changes, "
                f"{report.contexts_rebuilt} contexts derived again, {report.written} rows "
                f"written, {report.removed} removed."
            )
        )
