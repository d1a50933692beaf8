"""Feed formats, written incrementally to a binary file: one product at a time, so a
feed of any size is written in constant memory.

- Google Merchant Center: RSS 2.0 with the ``g:`` namespace, one ``item`` per
  variant (Google's product data specification).
- Meta catalogue: CSV with a header row, one row per variant.
- Partner XML: the shop's own documented format (see ``PartnerWriter``).

Each writer decides which items its channel cannot take and counts them by
reason (``FeedStats``), so the admin can say why a product is missing.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Sequence
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any, ClassVar

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from lxml import etree

from catalog.models import Product
from integrations.feeds.models import FeedFormat
from integrations.feeds.selectors import FeedItem, FeedScope, amount_text, is_sold, money_text
from pricing.offers import Availability

GOOGLE_NS = "http://base.google.com/ns/1.0"
SAMPLES_PER_REASON = 10
GOOGLE_TITLE_MAX = 150
GOOGLE_DESCRIPTION_MAX = 5000
GOOGLE_ADDITIONAL_IMAGES_MAX = 10
META_ADDITIONAL_IMAGES_MAX = 20
META_TITLE_MAX = 200
META_DESCRIPTION_MAX = 9999

# Why an item was left out of a feed, and what was filled in for a written one.
SKIP_REASONS = {
    "not_sold": _("no price in the market (not sold there)"),
    "no_variant": _("no active variant"),
    "no_image": _("no image"),
    "no_brand_or_gtin": _("neither brand nor GTIN (Meta needs one)"),
}
NOTES = {
    "no_gtin": _("no GTIN: identifier_exists = no"),
    "no_brand": _("no brand"),
    "no_description": _("no description: the title is used"),
    "no_google_category": _("category not mapped to a Google category"),
    "no_weight": _("no weight"),
    "no_shipping": _("no shipping rate for a country of the market"),
}

GOOGLE_AVAILABILITY = {
    Availability.IN_STOCK: "in_stock",
    Availability.LOW_STOCK: "in_stock",
    Availability.BACKORDER: "backorder",
    Availability.OUT_OF_STOCK: "out_of_stock",
}
META_AVAILABILITY = {
    Availability.IN_STOCK: "in stock",
    Availability.LOW_STOCK: "in stock",
    Availability.BACKORDER: "available for order",
    Availability.OUT_OF_STOCK: "out of stock",
}


@dataclass
class FeedStats:
    """What a build wrote and left out; a few SKUs of each reason for the merchant."""

    written: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    notes: Counter[str] = field(default_factory=Counter)
    samples: dict[str, list[str]] = field(default_factory=dict)

    def skip(self, reason: str, sku: str) -> None:
        self.skipped[reason] += 1
        self._sample(reason, sku)

    def note(self, note: str, sku: str) -> None:
        self.notes[note] += 1
        self._sample(note, sku)

    def _sample(self, key: str, sku: str) -> None:
        examples = self.samples.setdefault(key, [])
        if len(examples) < SAMPLES_PER_REASON:
            examples.append(sku)

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())


class FeedWriter:
    """Writes one feed to ``stream`` (binary): ``open()``, ``product()`` per product,
    ``close()``. Subclasses say what their channel needs."""

    format: ClassVar[str]
    content_type: ClassVar[str]
    extension: ClassVar[str]
    needs_image: ClassVar[bool] = False

    def __init__(self, stream: IO[bytes], scope: FeedScope, stats: FeedStats) -> None:
        self.stream = stream
        self.scope = scope
        self.stats = stats
        self._stack = ExitStack()

    def open(self, *, generated_at: datetime) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self._stack.close()

    def product(self, product: Product, items: Sequence[FeedItem]) -> None:
        """Write the items of ``product`` the channel takes; count the others."""
        if not items:
            self.stats.skip("no_variant", f"#{product.pk}")
            return
        sold = []
        for item in items:
            if not is_sold(item.offer):
                self.stats.skip("not_sold", item.sku)
            elif self.needs_image and not item.image_links:
                self.stats.skip("no_image", item.sku)
            elif reason := self.refuses(item):
                self.stats.skip(reason, item.sku)
            else:
                sold.append(item)
        if sold:
            self.write(product, sold)

    def refuses(self, item: FeedItem) -> str:
        """Why the channel cannot take ``item`` ("" when it can)."""
        return ""

    def write(self, product: Product, items: Sequence[FeedItem]) -> None:
        raise NotImplementedError

    def notes_for(self, item: FeedItem) -> None:
        """Count what the item lacks that the channel would like."""
        if not item.gtin:
            self.stats.note("no_gtin", item.sku)
        if not item.brand:
            self.stats.note("no_brand", item.sku)
        if not item.description:
            self.stats.note("no_description", item.sku)
        if item.weight_grams is None:
            self.stats.note("no_weight", item.sku)


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _xml_text(text: str) -> str:
    """Text XML 1.0 can hold: control characters (other than tab and newlines) dropped."""
    return "".join(ch for ch in text if ch in "\t\n\r" or ord(ch) >= 0x20)


class GoogleWriter(FeedWriter):
    """Google Merchant Center RSS 2.0: one ``item`` per variant, ``g:`` attributes."""

    format = FeedFormat.GOOGLE
    content_type = "application/xml; charset=utf-8"
    extension = "xml"
    needs_image = True

    def open(self, *, generated_at: datetime) -> None:
        self._xml = self._stack.enter_context(etree.xmlfile(self.stream, encoding="utf-8"))
        self._xml.write_declaration()
        self._enter(self._xml.element("rss", version="2.0", nsmap={"g": GOOGLE_NS}))
        self._enter(self._xml.element("channel"))
        with translation.override(self.scope.language):
            description = gettext("Products of %(shop)s for %(market)s") % {
                "shop": settings.SHOP_NAME,
                "market": self.scope.market.name,
            }
        for tag, text in (
            ("title", f"{settings.SHOP_NAME} – {self.scope.market.name} ({self.scope.prefix})"),
            ("link", f"{self.scope.site_url}/{self.scope.prefix}/"),
            ("description", description),
        ):
            element = etree.Element(tag)
            element.text = text
            self._xml.write(element)

    def _enter(self, manager: AbstractContextManager[Any]) -> None:
        self._stack.enter_context(manager)

    def write(self, product: Product, items: Sequence[FeedItem]) -> None:
        for item in items:
            # One attribute a line; each item restates the g: prefix (lxml writes
            # it standalone), which XML readers take as the same namespace.
            self._xml.write(self.element(item), pretty_print=True)
            self.notes_for(item)
            if item.google_category_id is None:
                self.stats.note("no_google_category", item.sku)
            if len(item.shipping) < len(self.scope.market.countries):
                self.stats.note("no_shipping", item.sku)
            self.stats.written += 1
        self._xml.flush()

    def element(self, item: FeedItem) -> etree._Element:
        currency = item.currency
        entry = etree.Element("item", nsmap={"g": GOOGLE_NS})

        def add(name: str, text: str, parent: etree._Element = entry) -> None:
            child = etree.SubElement(parent, f"{{{GOOGLE_NS}}}{name}")
            child.text = _xml_text(text)

        add("id", item.sku)
        add("title", _clip(item.title, GOOGLE_TITLE_MAX))
        add("description", _clip(item.description or item.title, GOOGLE_DESCRIPTION_MAX))
        add("link", item.link)
        add("image_link", item.image_links[0])
        for link in item.image_links[1 : 1 + GOOGLE_ADDITIONAL_IMAGES_MAX]:
            add("additional_image_link", link)
        add("availability", GOOGLE_AVAILABILITY[item.offer.availability])
        add("price", money_text(item.regular_price, currency))
        if item.is_on_sale:
            add("sale_price", money_text(item.price, currency))
        if item.brand:
            add("brand", item.brand)
        if item.gtin:
            add("gtin", item.gtin)
        else:
            # Our SKUs are the shop's own codes, not manufacturer part numbers.
            add("identifier_exists", "no")
        add("condition", "new")
        if item.item_group_id:
            add("item_group_id", item.item_group_id)
        if item.category_path:
            add("product_type", " > ".join(item.category_path))
        if item.google_category_id is not None:
            add("google_product_category", str(item.google_category_id))
        for cost in item.shipping:
            shipping = etree.SubElement(entry, f"{{{GOOGLE_NS}}}shipping")
            add("country", cost.country, shipping)
            add("service", cost.service, shipping)
            add("price", money_text(cost.price, currency), shipping)
        if item.weight_grams is not None:
            add("shipping_weight", f"{item.weight_grams} g")
        return entry


class MetaWriter(FeedWriter):
    """Meta (Facebook, Instagram) catalogue CSV: one row per variant."""

    format = FeedFormat.META
    content_type = "text/csv; charset=utf-8"
    extension = "csv"
    needs_image = True
    COLUMNS = (
        "id",
        "title",
        "description",
        "availability",
        "condition",
        "price",
        "sale_price",
        "link",
        "image_link",
        "additional_image_link",
        "brand",
        "gtin",
        "item_group_id",
        "google_product_category",
        "product_type",
        "shipping_weight",
    )

    def open(self, *, generated_at: datetime) -> None:
        self._text = io.TextIOWrapper(self.stream, encoding="utf-8", newline="")
        self._csv = csv.writer(self._text)
        self._csv.writerow(self.COLUMNS)

    def close(self) -> None:
        self._text.flush()
        self._text.detach()  # the stream stays open for the caller
        super().close()

    def refuses(self, item: FeedItem) -> str:
        return "" if item.brand or item.gtin else "no_brand_or_gtin"

    def write(self, product: Product, items: Sequence[FeedItem]) -> None:
        for item in items:
            currency = item.currency
            row = {
                "id": item.sku,
                "title": _clip(item.title, META_TITLE_MAX),
                "description": _clip(item.description or item.title, META_DESCRIPTION_MAX),
                "availability": META_AVAILABILITY[item.offer.availability],
                "condition": "new",
                "price": money_text(item.regular_price, currency),
                "sale_price": money_text(item.price, currency) if item.is_on_sale else "",
                "link": item.link,
                "image_link": item.image_links[0],
                # Meta reads several additional images as one comma-separated cell.
                "additional_image_link": ",".join(
                    item.image_links[1 : 1 + META_ADDITIONAL_IMAGES_MAX]
                ),
                "brand": item.brand,
                "gtin": item.gtin,
                "item_group_id": item.item_group_id,
                "google_product_category": str(item.google_category_id or ""),
                "product_type": " > ".join(item.category_path),
                "shipping_weight": f"{item.weight_grams} g" if item.weight_grams else "",
            }
            self._csv.writerow([row[column] for column in self.COLUMNS])
            self.notes_for(item)
            self.stats.written += 1


class PartnerWriter(FeedWriter):
    """The shop's own XML for partners and comparison sites (format version 1).

    ::

        <catalogue version="1" market="eu" country="DE" language="de" currency="EUR"
                   prices-include-tax="true" generated-at="2026-12-04T16:00:00+00:00">
          <product id="P12">
            <name>…</name> <description>…</description> <brand>…</brand>
            <category>Clothing > Tops > T-shirts</category>
            <url>https://…/de-de/p/…/</url>
            <image>https://…</image> (0…n, the first is the main image)
            <variant sku="KRV-TEE-M" gtin="…">
              <option name="Size">M</option> (0…n)
              <url>https://…/de-de/p/…/?variant=KRV-TEE-M</url>
              <price>29.90</price>                    the price the shopper pays now
              <regular-price>34.90</regular-price>    only during a sale
              <availability>in_stock</availability>   in_stock | backorder | out_of_stock
              <stock>12</stock>                       free units over the market's pools
              <weight unit="g">200</weight>           when known
            </variant>
          </product>
        </catalogue>

    Amounts are in the market's currency with its minor units, with or
    without tax as ``prices-include-tax`` says; only variants with a price
    in the market are listed, and only products with such a variant.
    """

    format = FeedFormat.PARTNER
    content_type = "application/xml; charset=utf-8"
    extension = "xml"

    def open(self, *, generated_at: datetime) -> None:
        self._xml = self._stack.enter_context(etree.xmlfile(self.stream, encoding="utf-8"))
        self._xml.write_declaration()
        scope = self.scope
        self._stack.enter_context(
            self._xml.element(
                "catalogue",
                {
                    "version": "1",
                    "market": scope.market.code,
                    "country": scope.country,
                    "language": scope.language,
                    "currency": scope.market.currency,
                    "prices-include-tax": "true" if scope.market.prices_include_tax else "false",
                    "generated-at": generated_at.isoformat(timespec="seconds"),
                },
            )
        )

    def write(self, product: Product, items: Sequence[FeedItem]) -> None:
        first = items[0]
        entry = etree.Element("product", id=f"P{product.pk}")

        def add(parent: etree._Element, tag: str, text: str, **attributes: str) -> None:
            child = etree.SubElement(parent, tag, **attributes)
            child.text = _xml_text(text)

        add(entry, "name", first.name)
        if first.description:
            add(entry, "description", first.description)
        if first.brand:
            add(entry, "brand", first.brand)
        if first.category_path:
            add(entry, "category", " > ".join(first.category_path))
        add(entry, "url", first.link.partition("?")[0])
        for link in first.image_links:
            add(entry, "image", link)
        for item in items:
            attributes = {"sku": item.sku}
            if item.gtin:
                attributes["gtin"] = item.gtin
            variant = etree.SubElement(entry, "variant", **attributes)
            for attribute, value in item.options:
                add(variant, "option", value, name=attribute)
            add(variant, "url", item.link)
            add(variant, "price", amount_text(item.price, item.currency))
            if item.is_on_sale:
                add(variant, "regular-price", amount_text(item.regular_price, item.currency))
            add(variant, "availability", GOOGLE_AVAILABILITY[item.offer.availability])
            add(variant, "stock", str(item.offer.available_quantity))
            if item.weight_grams is not None:
                add(variant, "weight", str(item.weight_grams), unit="g")
            self.stats.written += 1
        self._xml.write(entry, pretty_print=True)
        self._xml.flush()


WRITERS: dict[str, type[FeedWriter]] = {
    FeedFormat.GOOGLE: GoogleWriter,
    FeedFormat.META: MetaWriter,
    FeedFormat.PARTNER: PartnerWriter,
}
