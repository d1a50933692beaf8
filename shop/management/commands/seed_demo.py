"""Load the demo shop. Safe to run again: it updates what is there."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from catalog.demo import demo_catalog_create
from catalog.models import Product
from pricing.demo import pricing_demo_setup
from shop.services import customer_group_upsert, market_upsert

DEMO_MARKETS: list[dict[str, Any]] = [
    {
        "code": "tr",
        "name": "Türkiye",
        "currency": "TRY",
        "default_language": "tr",
        "other_languages": ["en"],
        "default_country": "TR",
        "countries": ["TR"],
        "prices_include_tax": True,
        "position": 1,
    },
    {
        "code": "eu",
        "name": "Europe",
        "currency": "EUR",
        "default_language": "de",
        "other_languages": ["en", "fr"],
        "default_country": "DE",
        "countries": ["DE", "AT", "FR", "NL"],
        "prices_include_tax": True,
        "position": 2,
    },
    {
        "code": "us",
        "name": "United States",
        "currency": "USD",
        "default_language": "en",
        "default_country": "US",
        "countries": ["US"],
        "prices_include_tax": False,
        "is_default": True,
        "position": 3,
    },
    {
        "code": "gb",
        "name": "United Kingdom",
        "currency": "GBP",
        "default_language": "en",
        "default_country": "GB",
        "countries": ["GB"],
        "prices_include_tax": True,
        "position": 4,
    },
]

DEMO_GROUPS = [
    {"code": "retail", "name": "Retail", "description": "Consumers buying at list prices."},
    {"code": "dealer", "name": "Dealer (B2B)", "description": "Resellers with dealer prices."},
]


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
            for market in DEMO_MARKETS:
                market_upsert(**market)
            for group in DEMO_GROUPS:
                customer_group_upsert(**group)
            pricing_demo_setup()
        created = demo_catalog_create(
            count=options["products"], with_images=not options["no_images"]
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready: {len(DEMO_MARKETS)} markets, "
                f"{created} new products ({Product.objects.count()} in all)."
            )
        )
