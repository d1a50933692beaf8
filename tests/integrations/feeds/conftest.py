"""Fixtures of the feed tests: the demo shop with delivery rates and product images."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from lxml import etree
from PIL import Image

from catalog.images import product_image_add
from catalog.models import Product
from integrations.feeds.models import FeedConfig, FeedFormat
from integrations.feeds.services import FeedBuildResult, feed_build
from shop.config_cache import config_cache_clear
from shop.models import Market

G = "{http://base.google.com/ns/1.0}"


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 40), (200, 80, 40)).save(buffer, format="JPEG")
    return buffer.getvalue()


def image_add(sku: str, count: int = 1) -> None:
    product = Product.objects.get(variants__sku=sku)
    for position in range(count):
        product_image_add(
            product=product,
            filename=f"{sku.lower()}-{position}.jpg",
            content=jpeg(),
            alt_texts={"en": sku},
            position=position,
        )


@pytest.fixture
def feed_shop(checkout_shop: dict[str, Market]) -> dict[str, Market]:
    """The demo shop ready to sell (delivery rates too), KRV-TEE with two images and
    KRV-MUG with one."""
    image_add("KRV-TEE-M", count=2)
    image_add("KRV-MUG")
    config_cache_clear()
    cache.clear()
    return checkout_shop


def feed_config(market: str, language: str, feed_format: str, **fields: Any) -> FeedConfig:
    return FeedConfig.objects.create(
        market=Market.objects.get(code=market),
        language=language,
        format=FeedFormat(feed_format),
        **fields,
    )


def build(config: FeedConfig, **options: Any) -> FeedBuildResult:
    return feed_build(config_id=config.pk, **options)


def google_items(client: Client, path: str) -> dict[str, etree._Element]:
    """The feed's items by id (``g:id``)."""
    response = client.get(path)
    assert response.status_code == 200, response.content
    root = etree.fromstring(b"".join(response.streaming_content))  # type: ignore[attr-defined]
    assert root.tag == "rss" and root.get("version") == "2.0"
    return {item.findtext(f"{G}id"): item for item in root.iter("item")}


def page_offers(client: Client, path: str) -> dict[str, dict[str, Any]]:
    """The JSON-LD offers of a storefront product page, by SKU."""
    response = client.get(path)
    assert response.status_code == 200, path
    tree = etree.HTML(response.content)
    scripts = tree.xpath('//script[@type="application/ld+json"]/text()')
    products = [data for data in map(json.loads, scripts) if data.get("@type") == "Product"]
    assert len(products) == 1
    return {offer["sku"]: offer for offer in products[0].get("offers", [])}
