"""Load the demo shop. Safe to run again: it updates what is there."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from catalog.demo import demo_catalog_create
from catalog.models import Product
from pricing.demo import pricing_demo_setup
from shop.demo import markets_demo_setup


class Command(BaseCommand):
    help = "Create or update the demo markets, customer groups and catalogue."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--products", type=int, default=200, help="Catalogue size (default 200)."
        )
        parser.add_argument(
            "--no-images", action="store_true", help="Skip generating product images."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["products"] < 2:
            raise CommandError("--products must be at least 2 (the reference items).")
        with transaction.atomic():
            markets = markets_demo_setup()
            pricing_demo_setup()
        created = demo_catalog_create(
            count=options["products"], with_images=not options["no_images"]
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready: {len(markets)} markets, "
                f"{created} new products ({Product.objects.count()} in all)."
            )
        )
