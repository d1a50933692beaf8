"""schema.org Product structured data, built from the same offers the page shows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.http import HttpRequest

from catalog.models import Product, ProductImage, Variant
from pricing.offers import Offer
from shop.context import MarketContext


def product_jsonld(
    request: HttpRequest,
    product: Product,
    variants: Sequence[Variant],
    offers: dict[int, Offer],
    selected: Variant | None,
    images: Sequence[ProductImage],
    canonical_url: str,
    context: MarketContext,
) -> dict[str, Any]:
    """A Product with one Offer per variant that has a price here."""
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": product.name,  # type: ignore[attr-defined]
        "url": canonical_url,
    }
    if product.description:  # type: ignore[attr-defined]
        data["description"] = product.description  # type: ignore[attr-defined]
    if selected is not None:
        data["sku"] = selected.sku
        if selected.gtin:
            data["gtin"] = selected.gtin
    if product.brand is not None:
        data["brand"] = {"@type": "Brand", "name": product.brand.name}
    pictures = [request.build_absolute_uri(image.detail.url) for image in images if image.detail]
    if pictures:
        data["image"] = pictures
    entries = []
    for variant in variants:
        offer = offers[variant.pk]
        if offer.price is None:
            continue
        entry: dict[str, Any] = {
            "@type": "Offer",
            "sku": variant.sku,
            "price": str(offer.price),
            "priceCurrency": offer.currency,
            "availability": offer.availability.schema_org,
            "itemCondition": "https://schema.org/NewCondition",
            "url": f"{canonical_url}?variant={variant.sku}",
        }
        if variant.gtin:
            entry["gtin"] = variant.gtin
        entries.append(entry)
    if entries:
        data["offers"] = entries
    return data
