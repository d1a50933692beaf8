"""Demo marketplace: an inactive Trendyol account for the Turkish market (no real
credentials), listing the reference items, so the admin screens have something to show."""

from __future__ import annotations

from decimal import Decimal

from catalog.models import Variant
from integrations.marketplaces.adapters.trendyol import STAGE_URL
from integrations.marketplaces.models import Adapter, Marketplace
from integrations.marketplaces.services import listings_add
from shop.models import Market

DEMO_CODE = "trendyol-tr"
DEMO_SKUS = ("KRV-TEE-S", "KRV-TEE-M", "KRV-TEE-L", "KRV-MUG")


def marketplaces_demo_setup() -> Marketplace | None:
    """Create or update the demo Trendyol marketplace (idempotent; inactive, stage API,
    placeholder credentials: it never calls Trendyol until an operator fills them in).

    Needs the demo markets and products; returns None without the Turkish market.
    """
    market = Market.objects.filter(code="tr").first()
    if market is None:
        return None
    marketplace, _created = Marketplace.objects.update_or_create(
        code=DEMO_CODE,
        defaults={
            "name": "Trendyol (demo)",
            "adapter": Adapter.TRENDYOL,
            "market": market,
            "seller_id": "000000",
            "base_url": STAGE_URL,
            "price_adjustment_percent": Decimal(10),
            "is_active": False,
        },
    )
    variant_ids = list(Variant.objects.filter(sku__in=DEMO_SKUS).values_list("pk", flat=True))
    listings_add(marketplace=marketplace, variant_ids=variant_ids)
    return marketplace
