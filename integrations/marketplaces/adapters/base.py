"""What the shop asks of any marketplace, whatever its API looks like.

An adapter is built for one ``Marketplace`` (credentials, base address) and
offers six operations:

- ``listings_push``: create or update products (texts, category, attributes);
- ``price_stock_push``: send absolute prices and stock, at most ``max_items``
  per call, answering the marketplace's batch id;
- ``batch_result``: the per-item outcome of a batch sent before (the
  marketplace may still be working: ``done`` False);
- ``orders_pull``: the orders changed in a time window, every page;
- ``order_acknowledge``: tell the marketplace an order was taken over;
- ``order_ship``: send the carrier and tracking number of an order.

Errors are the classes below, so the relay decides the same way for every
marketplace: ``RateLimited`` (wait as told), ``TransientError`` (retry with
backoff), ``DuplicateRequest`` (the same request was accepted a moment ago),
``PermanentError`` (the request itself is refused: record why, do not retry).

How others fit: **Amazon SP-API** sends prices and stock with the Feeds API
(``JSON_LISTINGS_FEED`` of ``PATCH`` messages on ``purchasable_offer`` and
``fulfillment_availability``, up to thousands of SKUs per feed): the
``createFeed`` id is the batch id and ``batch_result`` reads the feed's
processing report (per-message errors); ``listings_push`` maps to
``putListingsItem``/the same feed; orders come from ``getOrders`` (by
``LastUpdatedAfter``, paged by ``NextToken``), acknowledgement is implicit
(``order_acknowledge`` is a no-op) and ``order_ship`` is
``confirmShipment``. **eBay** sends prices and stock with the Inventory
API's ``bulkUpdatePriceQuantity`` (25 SKUs per call, answered at once: the
adapter returns a synthetic batch id and keeps the answer for
``batch_result``); orders come from the Fulfillment API's ``getOrders``
(``lastmodifieddate`` filter), ``order_ship`` is
``createShippingFulfillment``. The barcode of a ``PriceStockItem`` is the
SKU/ASIN key the marketplace knows the listing by.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol


class MarketplaceError(Exception):
    """A call to a marketplace did not do what was asked."""


class TransientError(MarketplaceError):
    """The marketplace is down, slow or erred on its side (5xx, timeout): retry later."""


class RateLimited(TransientError):
    """The marketplace asked to slow down (HTTP 429): retry after ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(MarketplaceError):
    """The marketplace refused the request itself (credentials, bad data): sending the
    same again will not help."""


class DuplicateRequest(PermanentError):
    """The marketplace refused an identical request sent shortly before: the first one
    was taken (e.g. a re-send after a crash)."""


@dataclass(frozen=True, slots=True)
class PriceStockItem:
    """What a listing should show: absolute values (sending twice changes nothing).

    ``sale_price``/``list_price`` None: only the stock is sent.
    """

    barcode: str
    quantity: int
    sale_price: Decimal | None
    list_price: Decimal | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "barcode": self.barcode,
            "quantity": self.quantity,
            "salePrice": None if self.sale_price is None else str(self.sale_price),
            "listPrice": None if self.list_price is None else str(self.list_price),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PriceStockItem:
        def amount(value: Any) -> Decimal | None:
            return None if value is None else Decimal(str(value))

        return cls(
            barcode=str(data["barcode"]),
            quantity=int(data["quantity"]),
            sale_price=amount(data.get("salePrice")),
            list_price=amount(data.get("listPrice")),
        )


@dataclass(frozen=True, slots=True)
class ListingItem:
    """A product to create or update on the marketplace (category and attributes
    already mapped to the marketplace's ids)."""

    barcode: str
    title: str
    product_main_id: str
    stock_code: str
    brand: str
    category_id: str
    description: str
    quantity: int
    sale_price: Decimal
    list_price: Decimal
    currency: str
    vat_rate: Decimal
    image_urls: tuple[str, ...] = ()
    attributes: tuple[tuple[str, str], ...] = ()  # (marketplace attribute id, value)

    def as_dict(self) -> dict[str, Any]:
        """For a batch's stored items: amounts as exact strings."""
        return {
            "barcode": self.barcode,
            "title": self.title,
            "productMainId": self.product_main_id,
            "stockCode": self.stock_code,
            "brand": self.brand,
            "categoryId": self.category_id,
            "description": self.description,
            "quantity": self.quantity,
            "salePrice": str(self.sale_price),
            "listPrice": str(self.list_price),
            "currency": self.currency,
            "vatRate": str(self.vat_rate),
            "images": list(self.image_urls),
            "attributes": [list(pair) for pair in self.attributes],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ListingItem:
        return cls(
            barcode=str(data["barcode"]),
            title=str(data["title"]),
            product_main_id=str(data["productMainId"]),
            stock_code=str(data["stockCode"]),
            brand=str(data["brand"]),
            category_id=str(data["categoryId"]),
            description=str(data["description"]),
            quantity=int(data["quantity"]),
            sale_price=Decimal(str(data["salePrice"])),
            list_price=Decimal(str(data["listPrice"])),
            currency=str(data["currency"]),
            vat_rate=Decimal(str(data["vatRate"])),
            image_urls=tuple(str(url) for url in data.get("images") or ()),
            attributes=tuple(
                (str(attribute_id), str(value))
                for attribute_id, value in data.get("attributes") or ()
            ),
        )


@dataclass(frozen=True, slots=True)
class ItemResult:
    barcode: str
    is_accepted: bool
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BatchResult:
    """The outcome of a batch: ``done`` False while the marketplace still works on it."""

    done: bool
    items: tuple[ItemResult, ...] = ()


@dataclass(frozen=True, slots=True)
class MarketplaceOrderLine:
    external_id: str
    barcode: str
    sku: str
    name: str
    quantity: int
    unit_price: Decimal  # gross, what the buyer pays per unit after the marketplace's discounts
    tax_rate: Decimal


@dataclass(frozen=True, slots=True)
class MarketplaceOrder:
    """An order (for Trendyol: a shipment package) as the marketplace tells it."""

    external_id: str
    order_number: str
    status: str
    currency: str
    email: str
    phone: str
    shipping_address: dict[str, str]
    billing_address: dict[str, str]
    lines: tuple[MarketplaceOrderLine, ...]
    placed_at: datetime | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def is_new(self) -> bool:
        """Still to be taken over by the seller (not cancelled, not shipped)."""
        return self.status in {"Created", "Awaiting"}


class MarketplaceAdapter(Protocol):
    """One marketplace account's API (see the module docstring)."""

    max_items: int

    def listings_push(self, items: Sequence[ListingItem], *, update: bool = False) -> str: ...

    def price_stock_push(self, items: Sequence[PriceStockItem]) -> str: ...

    def batch_result(self, batch_id: str) -> BatchResult: ...

    def orders_pull(
        self, *, start: datetime, end: datetime, status: str | None = None
    ) -> Iterator[MarketplaceOrder]: ...

    def order_acknowledge(self, order: MarketplaceOrder) -> None: ...

    def order_ship(self, *, external_id: str, tracking_number: str, carrier: str = "") -> None: ...
