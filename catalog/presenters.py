"""What storefront templates show: product cards and page data, built in bulk."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from catalog.models import Product
from catalog.selectors import variant_ids_by_product
from pricing.offers import Availability, Offer, PriceContext, offers_for
from shop.context import MarketContext

AVAILABILITY_ORDER = [
    Availability.IN_STOCK,
    Availability.LOW_STOCK,
    Availability.BACKORDER,
    Availability.OUT_OF_STOCK,
    Availability.NOT_SOLD,
]


@dataclass(frozen=True, slots=True)
class ProductCard:
    product_id: int
    name: str
    url: str
    image_url: str | None
    image_alt: str
    brand: str
    offer: Offer | None  # the cheapest variant that can be bought, else the cheapest
    price_varies: bool
    availability: Availability


def best_offer(offers: Sequence[Offer]) -> tuple[Offer | None, bool, Availability]:
    """The offer a card shows, whether variants differ in price, and the best availability."""
    priced = [offer for offer in offers if offer.price is not None]
    if not priced:
        return None, False, Availability.NOT_SOLD
    buyable = [offer for offer in priced if offer.can_buy] or priced
    cheapest = min(buyable, key=lambda offer: offer.price or Decimal(0))
    varies = len({offer.price for offer in priced}) > 1
    availability = min((offer.availability for offer in offers), key=AVAILABILITY_ORDER.index)
    return cheapest, varies, availability


def product_cards(products: Sequence[Product], context: MarketContext) -> list[ProductCard]:
    """Cards for storefront products (annotated ``name``/``slug``): four queries in all."""
    variants = variant_ids_by_product([product.pk for product in products])
    offers = offers_for(
        [variant_id for ids in variants.values() for variant_id in ids],
        PriceContext.from_market(context),
    )
    cards = []
    for product in products:
        offer, varies, availability = best_offer(
            [offers[variant_id] for variant_id in variants.get(product.pk, [])]
        )
        image = product.primary_image
        cards.append(
            ProductCard(
                product_id=product.pk,
                name=product.name,  # type: ignore[attr-defined]
                url=context.url(f"/p/{product.slug}/"),  # type: ignore[attr-defined]
                image_url=image.listing.url if image and image.listing else None,
                image_alt=image.alt_in(context.language) if image else "",
                brand=product.brand.name if product.brand else "",
                offer=offer,
                price_varies=varies,
                availability=availability,
            )
        )
    return cards
