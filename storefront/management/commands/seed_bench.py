"""Load a large synthetic catalogue for load benchmarks (``make bench``)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from itertools import islice
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from catalog.demo import catalog_refresh, catalog_structure_create, generated_specs
from catalog.models import Product, ProductTranslation, Variant
from pricing.derivation import derived_prices_rebuild
from pricing.listing_upkeep import listing_refresh
from pricing.models import ListingEntry, PriceEntry, StockLevel
from storefront.demo import demo_configuration_setup, demo_products_create

BENCH_PREFIX = "BENCH"
CHUNK_SIZE = 2000


class Command(BaseCommand):
    help = (
        "Create a large synthetic catalogue (BENCH-… products, no images) with the demo "
        "markets and pricing. Safe to run again: products already there are kept."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--products", type=int, default=20000, help="Catalogue size (default 20000)."
        )
        parser.add_argument(
            "--seed", type=int, default=2024, help="Random seed of the generated products."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        count: int = options["products"]
        seed: int = options["seed"]
        if count < 1:
            raise CommandError("--products must be at least 1.")
        started = time.monotonic()

        with self._step("Markets, pricing and category tree"):
            demo_configuration_setup()
            catalog_structure_create()

        created = 0
        specs = generated_specs(count, seed=seed, prefix=BENCH_PREFIX)
        with self._step(f"{count} products"):
            for done in range(0, count, CHUNK_SIZE):
                chunk = list(islice(specs, CHUNK_SIZE))
                # One seed per chunk, or every chunk would get the same barcodes.
                created += len(demo_products_create(chunk, seed=seed + done, prices_seed=seed))
                self.stdout.write(f"  {done + len(chunk)}/{count} ({created} new)")

        if created:
            with self._step("Derived price lists"):
                derived_prices_rebuild()
            with self._step("Search columns"):
                catalog_refresh(missing_only=True)  # existing products keep theirs
        with self._step("Listing table"):
            listing_refresh()
        if created:
            with self._step("Table statistics"):
                _tables_analyze()

        bench = Product.objects.filter(variants__sku__startswith=f"{BENCH_PREFIX}-").distinct()
        self.stdout.write(
            self.style.SUCCESS(
                f"Bench catalogue ready in {time.monotonic() - started:.1f} s: "
                f"{created} new products, {bench.count()} bench products in all."
            )
        )

    @contextlib.contextmanager
    def _step(self, title: str) -> Iterator[None]:
        self.stdout.write(f"{title}…")
        started = time.monotonic()
        yield
        self.stdout.write(f"  {title}: {time.monotonic() - started:.1f} s")


def _tables_analyze() -> None:
    """Fresh planner statistics: right after a bulk load they would be missing or stale."""
    tables = [
        model._meta.db_table
        for model in (
            Product,
            Product.categories.through,
            Product.attribute_values.through,
            ProductTranslation,
            Variant,
            Variant.option_values.through,
            PriceEntry,
            StockLevel,
            ListingEntry,
        )
    ]
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE " + ", ".join(map(connection.ops.quote_name, tables)))
