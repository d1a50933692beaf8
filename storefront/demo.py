"""The demo shop, put together from each app's demo data, lowest layer first."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string

from catalog.demo import (
    ProductSpec,
    demo_catalog_create,
    products_bulk_create,
    specs_not_created,
)
from invoicing.demo import invoicing_demo_setup
from payments.demo import payments_demo_setup
from pricing.demo import demo_offers_create, pricing_demo_setup
from pricing.derivation import derived_prices_rebuild
from pricing.listing_upkeep import listing_refresh
from shipping.demo import shipping_demo_setup
from shop.demo import markets_demo_setup
from shop.models import Market


@transaction.atomic
def demo_configuration_setup() -> dict[str, Market]:
    """Markets, sellers, tax, prices, pools, delivery, payment methods and invoicing
    (idempotent), by code."""
    markets = markets_demo_setup()
    pricing_demo_setup()
    shipping_demo_setup()
    payments_demo_setup()
    invoicing_demo_setup()
    return markets


def demo_products_create(
    specs: list[ProductSpec], *, seed: int = 11, prices_seed: int = 7
) -> list[ProductSpec]:
    """Products from ``specs`` with their demo prices and stock; existing ones are kept.

    Returns the specs of the products created. The caller refreshes derived
    price lists (``derived_prices_rebuild``) and search columns
    (``catalog.demo.catalog_refresh``) once all products are in.
    """
    created = specs_not_created(specs)
    products_bulk_create(created, seed=seed)
    demo_offers_create(created, seed=prices_seed)
    return created


def demo_shop_create(
    *, products: int = 200, with_images: bool = True
) -> tuple[dict[str, Market], list[ProductSpec]]:
    """The whole demo shop (idempotent): the markets, and the specs of the products created."""
    markets = demo_configuration_setup()
    created = demo_catalog_create(count=products, with_images=with_images)
    demo_offers_create(created)
    derived_prices_rebuild()
    listing_refresh()
    # Integrations (same layer: named by dotted path in settings, not imported).
    for setup in settings.DEMO_INTEGRATIONS_SETUP:
        import_string(setup)()
    return markets, created
