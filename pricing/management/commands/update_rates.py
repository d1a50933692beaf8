"""Load the ECB daily reference rates and recompute the derived price lists."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from pricing.rates import RatesError, UpdateReport, fetch_ecb_xml, rates_update


class Command(BaseCommand):
    help = (
        "Store today's ECB reference exchange rates (from ECB_RATES_URL, or --file) "
        "and recompute the prices of derived price lists."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--file",
            type=Path,
            help="Read a saved eurofxref-daily XML file instead of downloading it.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # call_command() passes the option as given, not through argparse's type.
        path = Path(options["file"]) if options["file"] else None
        try:
            report = rates_update(document=read_document(path))
        except RatesError as error:
            raise CommandError(f"Rates not updated: {error}") from error
        self.report(report)

    def report(self, report: UpdateReport) -> None:
        self.stdout.write(
            self.style.SUCCESS(
                f"Exchange rates of {report.effective_date} stored: "
                f"{counted(report.currencies, 'currency', 'currencies')}."
            )
        )
        if not report.price_lists:
            self.stdout.write("No derived price lists to recompute.")
        for price_list in report.price_lists:
            if price_list.problem:
                self.stderr.write(
                    self.style.WARNING(
                        f"{price_list.price_list}: prices not recomputed, {price_list.problem}."
                    )
                )
            else:
                self.stdout.write(
                    f"{price_list.price_list}: "
                    f"{counted(price_list.updated, 'derived price', 'derived prices')} updated."
                )


def read_document(path: Path | None) -> bytes:
    """The file's bytes, or the document at ECB_RATES_URL when no file is given."""
    if path is None:
        return fetch_ecb_xml()
    try:
        return path.read_bytes()
    except OSError as error:
        raise RatesError(f"cannot read {path}: {error.strerror or error}") from error


def counted(count: int, singular: str, plural: str) -> str:
    return f"{count} {singular if count == 1 else plural}"
