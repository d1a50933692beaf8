"""Fixtures of the storefront tests."""

from __future__ import annotations

import pytest

from catalog.demo import generated_specs
from pricing.derivation import derived_prices_rebuild
from pricing.listing_upkeep import listing_refresh
from storefront.demo import demo_products_create


@pytest.fixture
def catalogue(demo_shop) -> None:
    """90 more products, most of them clothing: listings of several pages."""
    demo_products_create(list(generated_specs(90, prefix="LIST")))
    derived_prices_rebuild()
    listing_refresh()
