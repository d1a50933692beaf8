"""Small builders for shipping tests."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from shipping.models import ShippingMethod, ShippingRate, ShippingZone
from shipping.services import (
    delivery_country_set,
    shipping_method_upsert,
    shipping_rate_upsert,
    shipping_zone_upsert,
)


def method_with_rate(
    code: str = "post",
    *,
    countries: Sequence[str] = ("DE",),
    regions: Sequence[str] = (),
    currency: str = "EUR",
    names: dict[str, str] | None = None,
    position: int = 0,
    **rate: Any,
) -> tuple[ShippingMethod, ShippingZone, ShippingRate]:
    """A method with one zone and one rate (flat 4.90 unless told); its countries deliverable."""
    for country in {*countries, *(region.split("-")[0] for region in regions)}:
        delivery_country_set(country=country, list_regions=False)
    method = shipping_method_upsert(
        code=code,
        carrier=code.upper(),
        names=names or {"en": f"{code} standard"},
        days_min=1,
        days_max=3,
        tracking_url_pattern=f"https://track.example/{code}?n={{number}}",
        position=position,
    )
    zone = shipping_zone_upsert(method=method, name="zone", countries=countries, regions=regions)
    rate.setdefault("amount", Decimal("4.90") if not rate.get("brackets") else None)
    shipping_rate = shipping_rate_upsert(zone=zone, currency=currency, **rate)
    return method, zone, shipping_rate
