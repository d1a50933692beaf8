"""Load the demo shop. Safe to run again: it updates what is there."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalog.models import Product
from storefront.demo import demo_shop_create


class Command(BaseCommand):
    help = "Create or update the demo markets, customer groups, pricing and catalogue."

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
        markets, created = demo_shop_create(
            products=options["products"], with_images=not options["no_images"]
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready: {len(markets)} markets, "
                f"{len(created)} new products ({Product.objects.count()} in all)."
            )
        )
