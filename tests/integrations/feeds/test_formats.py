"""The Meta catalogue CSV and the partner XML."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.test import Client
from lxml import etree

from catalog.models import Variant
from pricing.models import PriceList
from pricing.services import price_set

from .conftest import build, feed_config

pytestmark = pytest.mark.django_db

META_REQUIRED = [
    "id",
    "title",
    "description",
    "availability",
    "condition",
    "price",
    "link",
    "image_link",
    "brand",
]


def test_meta_csv_has_the_required_columns(feed_shop):
    build(feed_config("eu", "de", "meta"))

    response = Client().get("/feeds/eu/de/meta.csv")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert set(META_REQUIRED) <= set(rows[0])
    assert {"sale_price", "item_group_id", "gtin", "additional_image_link"} <= set(rows[0])
    by_id = {row["id"]: row for row in rows}
    assert set(by_id) == {"KRV-TEE-S", "KRV-TEE-M", "KRV-TEE-L", "KRV-MUG"}
    tee = by_id["KRV-TEE-M"]
    for column in META_REQUIRED:
        assert tee[column], column
    assert tee["price"] == "29.90 EUR"
    assert tee["availability"] == "in stock"
    assert tee["condition"] == "new"
    assert tee["item_group_id"] == by_id["KRV-TEE-S"]["item_group_id"] != ""
    assert tee["additional_image_link"].startswith("http")
    assert by_id["KRV-MUG"]["item_group_id"] == ""
    assert {row["availability"] for row in rows} <= {
        "in stock",
        "out of stock",
        "available for order",
        "preorder",
    }


def test_partner_xml_lists_products_with_variants_prices_and_stock(feed_shop):
    eur = PriceList.objects.get(code="eur-retail")
    tee_m = Variant.objects.get(sku="KRV-TEE-M")
    price_set(
        price_list=eur, variant_id=tee_m.pk, amount=Decimal("29.90"), sale_amount=Decimal("24.90")
    )
    build(feed_config("eu", "de", "partner"))

    response = Client().get("/feeds/eu/de/partner.xml")

    root = etree.fromstring(b"".join(response.streaming_content))
    assert root.tag == "catalogue"
    assert root.attrib["currency"] == "EUR" and root.attrib["country"] == "DE"
    assert root.attrib["prices-include-tax"] == "true"
    products = root.findall("product")
    assert len(products) == 2
    tee = next(
        p
        for p in products
        if p.findtext("brand") and p.find("variant[@sku='KRV-TEE-M']") is not None
    )
    assert tee.findtext("name") == "Kervan T-Shirt"
    assert [v.get("sku") for v in tee.findall("variant")] == ["KRV-TEE-S", "KRV-TEE-M", "KRV-TEE-L"]
    variant = tee.find("variant[@sku='KRV-TEE-M']")
    assert variant.findtext("price") == "24.90"
    assert variant.findtext("regular-price") == "29.90"
    assert variant.findtext("availability") == "in_stock"
    assert int(variant.findtext("stock")) > 0
    assert variant.find("option").get("name") and variant.findtext("option") == "M"
    assert tee.find("variant[@sku='KRV-TEE-S']").find("regular-price") is None
