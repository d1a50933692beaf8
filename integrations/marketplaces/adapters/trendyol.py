"""Trendyol's seller API (``apigw.trendyol.com``), as its public documentation describes it.

Every call carries Basic authentication (API key and secret) and the
``User-Agent: <sellerId> - SelfIntegration`` header Trendyol requires of
sellers integrating themselves. Products are created with
``POST`` (updated with ``PUT``) ``/integration/product/sellers/{sellerId}/products``
(at most 1,000 items); prices and stock go to
``POST /integration/inventory/sellers/{sellerId}/products/price-and-inventory``
(at most 1,000 items, ``listPrice`` ≥ ``salePrice``); both are answered by a
``batchRequestId`` whose per-item results are read from
``GET /integration/product/sellers/{sellerId}/products/batch-requests/{id}``.
Orders are shipment packages (``GET /integration/order/sellers/{sellerId}/orders``,
paged); a package is taken over by setting its status to ``Picking`` and
its tracking number is sent with ``update-tracking-number``.

Timeouts and 5xx answers are retried a few times with exponential backoff;
a 429 is waited out when its ``Retry-After`` is short, otherwise it is
raised (``RateLimited``) so the relay tries again later.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from django.conf import settings

from integrations.marketplaces.adapters.base import (
    BatchResult,
    DuplicateRequest,
    ItemResult,
    ListingItem,
    MarketplaceOrder,
    MarketplaceOrderLine,
    PermanentError,
    PriceStockItem,
    RateLimited,
    TransientError,
)

logger = logging.getLogger(__name__)

PRODUCTION_URL = "https://apigw.trendyol.com"
STAGE_URL = "https://stageapigw.trendyol.com"
MAX_ITEMS = 1000
MAX_QUANTITY = 20000  # the most stock Trendyol accepts for one item
ORDERS_PAGE_SIZE = 200
# Trendyol refuses an identical price-and-inventory request within 15 minutes with this text.
DUPLICATE_MARKERS = ("15 dakika", "same request")
BATCH_ITEM_DONE = {"SUCCESS", "FAILED"}


def _retry_after(response: requests.Response, default: float = 10.0) -> float:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date)."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return default
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def _error_text(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:500] or response.reason
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors:
            return "; ".join(
                str(error.get("message") or error) if isinstance(error, dict) else str(error)
                for error in errors
            )[:1000]
        for key in ("message", "error", "detail"):
            if body.get(key):
                return str(body[key])[:1000]
    return str(body)[:1000]


def _money(amount: Decimal) -> float | str:
    """A Decimal amount for the JSON body: Trendyol reads numbers; two decimals are exact."""
    return float(amount) if amount == amount.quantize(Decimal("0.01")) else str(amount)


class TrendyolAdapter:
    """One Trendyol seller account (see the module docstring)."""

    max_items = MAX_ITEMS

    def __init__(
        self,
        *,
        seller_id: str,
        api_key: str,
        api_secret: str,
        base_url: str = "",
        session: requests.Session | None = None,
    ) -> None:
        if not seller_id.strip():
            raise PermanentError("A Trendyol account needs its seller id.")
        self.seller_id = seller_id.strip()
        self.base_url = (base_url or PRODUCTION_URL).rstrip("/")
        self.session = session or requests.Session()
        self.session.auth = (api_key, api_secret)
        self.session.headers.update(
            {
                "User-Agent": f"{self.seller_id} - SelfIntegration",
                "Accept": "application/json",
            }
        )
        self.timeout = float(getattr(settings, "MARKETPLACE_HTTP_TIMEOUT", 20.0))
        self.retries = int(getattr(settings, "MARKETPLACE_HTTP_RETRIES", 3))
        self.backoff = float(getattr(settings, "MARKETPLACE_HTTP_BACKOFF_SECONDS", 1.0))
        self.max_inline_wait = float(getattr(settings, "MARKETPLACE_HTTP_MAX_INLINE_WAIT", 5.0))

    # HTTP

    def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
    ) -> Any:
        """Send one call; retry timeouts, 5xx and short 429s; raise the adapter's errors."""
        url = self.base_url + path
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self.session.request(
                    method, url, json=json, params=params, timeout=self.timeout
                )
            except (requests.Timeout, requests.ConnectionError) as error:
                if attempt > self.retries:
                    raise TransientError(f"Trendyol did not answer: {error}") from error
                self._sleep(self.backoff * 2 ** (attempt - 1))
                continue
            if response.status_code == 429:
                wait = _retry_after(response)
                if attempt > self.retries or wait > self.max_inline_wait:
                    raise RateLimited(
                        f"Trendyol asked to slow down (retry after {wait:g} s).", retry_after=wait
                    )
                self._sleep(wait)
                continue
            if response.status_code >= 500:
                if attempt > self.retries:
                    raise TransientError(
                        f"Trendyol answered {response.status_code}: {_error_text(response)}"
                    )
                self._sleep(self.backoff * 2 ** (attempt - 1))
                continue
            if response.status_code >= 400:
                text = _error_text(response)
                if any(marker in text for marker in DUPLICATE_MARKERS):
                    raise DuplicateRequest(text)
                raise PermanentError(
                    f"Trendyol refused the request ({response.status_code}): {text}"
                )
            if not response.content:
                return {}
            try:
                return response.json()
            except ValueError as error:
                raise TransientError("Trendyol answered something that is not JSON.") from error

    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    # Listings, prices and stock

    def listings_push(self, items: Sequence[ListingItem], *, update: bool = False) -> str:
        """Create (or ``update``) products; returns the batch id to read results with."""
        self._check_size(items)
        body = {
            "items": [
                {
                    "barcode": item.barcode,
                    "title": item.title[:100],
                    "productMainId": item.product_main_id,
                    "brandName": item.brand,
                    "categoryId": int(item.category_id)
                    if item.category_id.isdigit()
                    else item.category_id,
                    "quantity": min(max(item.quantity, 0), MAX_QUANTITY),
                    "stockCode": item.stock_code,
                    "description": item.description[:30000],
                    "currencyType": item.currency,
                    "listPrice": _money(max(item.list_price, item.sale_price)),
                    "salePrice": _money(item.sale_price),
                    "vatRate": int(item.vat_rate),
                    "images": [{"url": url} for url in item.image_urls],
                    "attributes": [
                        {
                            "attributeId": int(attribute_id)
                            if attribute_id.isdigit()
                            else attribute_id,
                            "customAttributeValue": value,
                        }
                        for attribute_id, value in item.attributes
                    ],
                }
                for item in items
            ]
        }
        path = f"/integration/product/sellers/{self.seller_id}/products"
        answer = self._request("PUT" if update else "POST", path, json=body)
        return self._batch_id(answer)

    def price_stock_push(self, items: Sequence[PriceStockItem]) -> str:
        """Send absolute prices and stock (≤ 1,000 items); returns the batch id."""
        self._check_size(items)
        body_items = []
        for item in items:
            entry: dict[str, Any] = {
                "barcode": item.barcode,
                "quantity": min(max(item.quantity, 0), MAX_QUANTITY),
            }
            if item.sale_price is not None:
                list_price = item.list_price if item.list_price is not None else item.sale_price
                if list_price < item.sale_price:
                    raise PermanentError(
                        f"{item.barcode}: the list price cannot be below the sale price."
                    )
                entry["salePrice"] = _money(item.sale_price)
                entry["listPrice"] = _money(list_price)
            body_items.append(entry)
        path = f"/integration/inventory/sellers/{self.seller_id}/products/price-and-inventory"
        answer = self._request("POST", path, json={"items": body_items})
        return self._batch_id(answer)

    def batch_result(self, batch_id: str) -> BatchResult:
        """Per-item results; ``done`` once every item is SUCCESS or FAILED."""
        path = f"/integration/product/sellers/{self.seller_id}/products/batch-requests/{batch_id}"
        answer = self._request("GET", path)
        raw_items = answer.get("items") or []
        results = []
        for raw in raw_items:
            request_item = raw.get("requestItem") or {}
            barcode = str(
                request_item.get("barcode")
                or (request_item.get("product") or {}).get("barcode")
                or ""
            )
            status = str(raw.get("status") or "").upper()
            if status not in BATCH_ITEM_DONE:
                return BatchResult(done=False)
            reasons = tuple(str(reason) for reason in raw.get("failureReasons") or ())
            results.append(
                ItemResult(barcode=barcode, is_accepted=status == "SUCCESS", reasons=reasons)
            )
        status = str(answer.get("status") or "").upper()
        done = bool(results) or status == "COMPLETED"
        return BatchResult(done=done, items=tuple(results))

    def _check_size(self, items: Sequence[object]) -> None:
        if not items:
            raise PermanentError("Nothing to send.")
        if len(items) > self.max_items:
            raise PermanentError(f"Trendyol takes at most {self.max_items} items per request.")

    def _batch_id(self, answer: Any) -> str:
        batch_id = answer.get("batchRequestId") if isinstance(answer, dict) else None
        if not batch_id:
            raise TransientError("Trendyol answered without a batchRequestId.")
        return str(batch_id)

    # Orders

    def orders_pull(
        self, *, start: datetime, end: datetime, status: str | None = None
    ) -> Iterator[MarketplaceOrder]:
        """Every shipment package changed between ``start`` and ``end``, page by page."""
        params: dict[str, Any] = {
            "startDate": int(start.timestamp() * 1000),
            "endDate": int(end.timestamp() * 1000),
            "size": ORDERS_PAGE_SIZE,
            "orderByField": "PackageLastModifiedDate",
            "orderByDirection": "ASC",
        }
        if status:
            params["status"] = status
        page = 0
        while True:
            answer = self._request(
                "GET",
                f"/integration/order/sellers/{self.seller_id}/orders",
                params={**params, "page": page},
            )
            for package in answer.get("content") or []:
                yield self._order(package)
            total_pages = int(answer.get("totalPages") or 0)
            page += 1
            if page >= total_pages:
                return

    def _order(self, package: dict[str, Any]) -> MarketplaceOrder:
        def address(raw: dict[str, Any] | None) -> dict[str, str]:
            raw = raw or {}
            return {
                "first_name": str(raw.get("firstName") or ""),
                "last_name": str(raw.get("lastName") or ""),
                "company": str(raw.get("company") or ""),
                "line1": str(raw.get("address1") or raw.get("fullAddress") or ""),
                "line2": str(raw.get("address2") or ""),
                "city": str(raw.get("city") or ""),
                "district": str(raw.get("district") or ""),
                "postal_code": str(raw.get("postalCode") or ""),
                "country": str(raw.get("countryCode") or "TR"),
                "phone": str(raw.get("phone") or ""),
            }

        shipping = address(package.get("shipmentAddress"))
        placed = package.get("orderDate")
        return MarketplaceOrder(
            external_id=str(package["id"]),
            order_number=str(package.get("orderNumber") or ""),
            status=str(package.get("shipmentPackageStatus") or package.get("status") or ""),
            currency=str(package.get("currencyCode") or "TRY"),
            email=str(package.get("customerEmail") or ""),
            phone=shipping.pop("phone"),
            shipping_address=shipping,
            billing_address={
                key: value
                for key, value in address(package.get("invoiceAddress")).items()
                if key != "phone"
            },
            lines=tuple(
                MarketplaceOrderLine(
                    external_id=str(line.get("id") or ""),
                    barcode=str(line.get("barcode") or ""),
                    sku=str(line.get("merchantSku") or ""),
                    name=str(line.get("productName") or ""),
                    quantity=int(line.get("quantity") or 0),
                    unit_price=Decimal(str(line.get("price") or 0)),
                    tax_rate=Decimal(str(line.get("vatBaseAmount") or 0)),
                )
                for line in package.get("lines") or []
            ),
            placed_at=datetime.fromtimestamp(placed / 1000, tz=UTC) if placed else None,
            raw=package,
        )

    def order_acknowledge(self, order: MarketplaceOrder) -> None:
        """Take the package over: its status becomes ``Picking``."""
        self._request(
            "PUT",
            f"/integration/order/sellers/{self.seller_id}/shipment-packages/{order.external_id}",
            json={
                "lines": [
                    {"lineId": int(line.external_id), "quantity": line.quantity}
                    for line in order.lines
                    if line.external_id.isdigit()
                ],
                "params": {},
                "status": "Picking",
            },
        )

    def order_ship(self, *, external_id: str, tracking_number: str, carrier: str = "") -> None:
        """Send the package's tracking number (carriers contracted by the seller)."""
        if not tracking_number.strip():
            raise PermanentError("A tracking number is needed.")
        self._request(
            "PUT",
            f"/integration/order/sellers/{self.seller_id}/shipment-packages/{external_id}"
            "/update-tracking-number",
            json={"trackingNumber": tracking_number.strip()},
        )
