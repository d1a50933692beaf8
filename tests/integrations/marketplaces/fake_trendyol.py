"""A local stand-in for the part of Trendyol's seller API the shop calls.

It checks what Trendyol checks (Basic authentication with the API key and
secret, the ``<sellerId> - SelfIntegration`` User-Agent, at most 1,000
items per price-and-inventory request, ``listPrice`` ≥ ``salePrice``, no
identical request twice within 15 minutes), creates and updates products
(``POST``/``PUT …/products``: every required field, title ≤ 100 characters,
``listPrice`` ≥ ``salePrice``, ``vatRate`` 0/1/10/20, at most 1,000
items, each item SUCCESS or FAILED with its reasons), answers batch ids
whose per-item results can be read, serves shipment packages page by page
and takes status and tracking updates. Tests can make it answer 429s or
5xx, refuse chosen barcodes or category ids, keep batches in progress, or
stall (timeouts).
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

SELLER_ID = "123456"
API_KEY = "ty-key"
API_SECRET = "ty-secret"
DUPLICATE_MESSAGE = "15 dakika boyunca aynı isteği tekrarlı olarak atamazsınız!"
PRODUCT_REQUIRED = (
    "barcode",
    "title",
    "productMainId",
    "brandName",
    "categoryId",
    "quantity",
    "stockCode",
    "description",
    "currencyType",
    "listPrice",
    "salePrice",
    "vatRate",
)
VAT_RATES = {0, 1, 10, 20}


@dataclass
class FakeTrendyol:
    url: str = ""
    seller_id: str = SELLER_ID
    api_key: str = API_KEY
    api_secret: str = API_SECRET
    # barcode → {"quantity", "salePrice", "listPrice"}: what the shop has made Trendyol show
    products: dict[str, dict[str, Any]] = field(default_factory=dict)
    known_barcodes: set[str] | None = None  # None: every barcode exists
    refuse: dict[str, str] = field(default_factory=dict)  # barcode → failure reason
    # barcode → the product as created (and updated): what the shop has listed there
    catalogue: dict[str, dict[str, Any]] = field(default_factory=dict)
    unknown_categories: set[int] = field(default_factory=set)  # refused category ids
    batches: dict[str, dict[str, Any]] = field(default_factory=dict)
    pending_polls: int = 0  # batch results answered IN_PROGRESS this many times first
    packages: list[dict[str, Any]] = field(default_factory=list)
    package_updates: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    fail_next: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    stall_next: list[float] = field(default_factory=list)  # seconds to wait before answering
    reject_duplicates: bool = True
    _recent: dict[str, float] = field(default_factory=dict)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # What tests look at

    def price_stock_requests(self) -> list[list[dict[str, Any]]]:
        """The items of every price-and-inventory request received, in order."""
        return [
            body["items"]
            for method, path, body in self.requests
            if method == "POST" and path.endswith("/price-and-inventory")
        ]

    def product_requests(self) -> list[tuple[str, list[dict[str, Any]]]]:
        """(method, items) of every product create (POST) or update (PUT) received."""
        return [
            (method, body["items"])
            for method, path, body in self.requests
            if method in {"POST", "PUT"}
            and re.fullmatch(r"/integration/product/sellers/[^/]+/products", path)
        ]

    def too_many(self, retry_after: int = 60) -> None:
        self.fail_next.append((429, {"Retry-After": str(retry_after)}))

    def package(self, package_id: int, *, lines: list[dict[str, Any]], **fields: Any) -> None:
        """Add a shipment package (``lines``: barcode, quantity, price, vat)."""
        self.packages.append(
            {
                "id": package_id,
                "orderNumber": fields.get("orderNumber", f"TY{package_id}"),
                "shipmentPackageStatus": fields.get("status", "Created"),
                "status": fields.get("status", "Created"),
                "currencyCode": fields.get("currencyCode", "TRY"),
                "customerEmail": f"pf+{package_id}@trendyolmail.com",
                "customerFirstName": "Ayşe",
                "customerLastName": "Yılmaz",
                "orderDate": int(time.time() * 1000),
                "shipmentAddress": {
                    "firstName": "Ayşe",
                    "lastName": "Yılmaz",
                    "address1": "Bağdat Cad. 1",
                    "city": "İstanbul",
                    "district": "Kadıköy",
                    "postalCode": "34710",
                    "countryCode": "TR",
                    "phone": "+905551112233",
                },
                "invoiceAddress": {
                    "firstName": "Ayşe",
                    "lastName": "Yılmaz",
                    "address1": "Bağdat Cad. 1",
                    "city": "İstanbul",
                    "district": "Kadıköy",
                    "postalCode": "34710",
                    "countryCode": "TR",
                },
                "lines": [
                    {
                        "id": package_id * 100 + position,
                        "barcode": line["barcode"],
                        "merchantSku": line["barcode"],
                        "productName": line.get("name", line["barcode"]),
                        "quantity": line["quantity"],
                        "price": line["price"],
                        "amount": line["price"],
                        "discount": 0,
                        "vatBaseAmount": line.get("vat", 20),
                        "currencyCode": "TRY",
                    }
                    for position, line in enumerate(lines, start=1)
                ],
            }
        )

    # The HTTP API

    def handle(
        self, method: str, path: str, query: dict[str, str], body: Any, headers: dict[str, str]
    ) -> tuple[int, Any, dict[str, str]]:
        with self._lock:
            self.requests.append((method, path, body))
            if self.fail_next:
                status, extra = self.fail_next.pop(0)
                return status, {"errors": [{"message": "Too many requests"}]}, extra
            expected = base64.b64encode(f"{self.api_key}:{self.api_secret}".encode()).decode()
            if headers.get("authorization") != f"Basic {expected}":
                return 401, {"errors": [{"message": "Unauthorized"}]}, {}
            if headers.get("user-agent") != f"{self.seller_id} - SelfIntegration":
                return (
                    403,
                    {"errors": [{"message": "User-Agent must be sellerId - SelfIntegration"}]},
                    {},
                )
            return self._route(method, path, query, body)

    def _route(
        self, method: str, path: str, query: dict[str, str], body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        seller = re.escape(self.seller_id)
        if method == "POST" and re.fullmatch(
            rf"/integration/inventory/sellers/{seller}/products/price-and-inventory", path
        ):
            return self._price_and_inventory(body)
        if (
            method in {"POST", "PUT"}
            and path == f"/integration/product/sellers/{self.seller_id}/products"
        ):
            return self._products(body, is_update=method == "PUT")
        match = re.fullmatch(
            rf"/integration/product/sellers/{seller}/products/batch-requests/([\w-]+)", path
        )
        if method == "GET" and match:
            return self._batch(match.group(1))
        if method == "GET" and path == f"/integration/order/sellers/{self.seller_id}/orders":
            return self._orders(query)
        match = re.fullmatch(
            rf"/integration/order/sellers/{seller}/shipment-packages/(\d+)(/update-tracking-number)?",
            path,
        )
        if method == "PUT" and match:
            self.package_updates.append((match.group(1), body))
            return 200, {}, {}
        return 404, {"errors": [{"message": f"No route {method} {path}"}]}, {}

    def _price_and_inventory(self, body: Any) -> tuple[int, Any, dict[str, str]]:
        items = body.get("items") if isinstance(body, dict) else None
        if not isinstance(items, list) or not items:
            return 400, {"errors": [{"message": "items is required"}]}, {}
        if len(items) > 1000:
            return 400, {"errors": [{"message": "En fazla 1000 item gönderilebilir."}]}, {}
        fingerprint = json.dumps(items, sort_keys=True)
        now = time.monotonic()
        if self.reject_duplicates and now - self._recent.get(fingerprint, -1e9) < 15 * 60:
            return 400, {"errors": [{"message": DUPLICATE_MESSAGE}]}, {}
        self._recent[fingerprint] = now
        results = []
        for item in items:
            barcode = str(item.get("barcode"))
            reasons = []
            sale, listed = item.get("salePrice"), item.get("listPrice")
            if (
                sale is not None
                and listed is not None
                and Decimal(str(listed)) < Decimal(str(sale))
            ):
                reasons.append("Liste fiyatı satış fiyatından küçük olamaz.")
            if self.known_barcodes is not None and barcode not in self.known_barcodes:
                reasons.append("Ürün bulunamadı.")
            if barcode in self.refuse:
                reasons.append(self.refuse[barcode])
            if not reasons:
                product = self.products.setdefault(barcode, {})
                for key in ("quantity", "salePrice", "listPrice"):
                    if item.get(key) is not None:
                        product[key] = item[key]
            results.append(
                {
                    "requestItem": item,
                    "status": "FAILED" if reasons else "SUCCESS",
                    "failureReasons": reasons,
                }
            )
        batch_id = f"{next(self._ids):04d}-batch-{int(time.time())}"
        self.batches[batch_id] = {"items": results, "polls": self.pending_polls}
        return 200, {"batchRequestId": batch_id}, {}

    def _products(self, body: Any, *, is_update: bool) -> tuple[int, Any, dict[str, str]]:
        items = body.get("items") if isinstance(body, dict) else None
        if not isinstance(items, list) or not items:
            return 400, {"errors": [{"message": "items is required"}]}, {}
        if len(items) > 1000:
            return 400, {"errors": [{"message": "En fazla 1000 item gönderilebilir."}]}, {}
        results = []
        for item in items:
            barcode = str(item.get("barcode"))
            reasons = self._product_problems(item)
            if is_update and barcode not in self.catalogue:
                reasons.append("Ürün bulunamadı.")
            if not is_update and barcode in self.catalogue:
                reasons.append("Bu barkod ile daha önce ürün oluşturulmuş.")
            if barcode in self.refuse:
                reasons.append(self.refuse[barcode])
            if not reasons:
                self.catalogue[barcode] = {**self.catalogue.get(barcode, {}), **item}
                if self.known_barcodes is not None:
                    self.known_barcodes.add(barcode)
                if not is_update:  # an update leaves prices and stock alone, as Trendyol does
                    self.products[barcode] = {
                        key: item[key] for key in ("quantity", "salePrice", "listPrice")
                    }
            results.append(
                {
                    "requestItem": {"product": item},
                    "status": "FAILED" if reasons else "SUCCESS",
                    "failureReasons": reasons,
                }
            )
        batch_id = f"{next(self._ids):04d}-product-{int(time.time())}"
        self.batches[batch_id] = {"items": results, "polls": self.pending_polls}
        return 200, {"batchRequestId": batch_id}, {}

    def _product_problems(self, item: dict[str, Any]) -> list[str]:
        """Why Trendyol would refuse the product (its own wording, in Turkish)."""
        reasons = [
            f"{name} alanı zorunludur."
            for name in PRODUCT_REQUIRED
            if item.get(name) is None or item.get(name) == ""
        ]
        if reasons:
            return reasons
        if len(str(item["title"])) > 100:
            reasons.append("Ürün adı en fazla 100 karakter olabilir.")
        if Decimal(str(item["listPrice"])) < Decimal(str(item["salePrice"])):
            reasons.append("Liste fiyatı satış fiyatından küçük olamaz.")
        if item["vatRate"] not in VAT_RATES:
            reasons.append("KDV oranı 0, 1, 10 veya 20 olmalıdır.")
        images = item.get("images")
        if (
            not isinstance(images, list)
            or not images
            or not all(
                isinstance(image, dict) and str(image.get("url", "")).startswith("http")
                for image in images
            )
        ):
            reasons.append("En az bir görsel adresi (url) gönderilmelidir.")
        if item["categoryId"] in self.unknown_categories:
            reasons.append(f"Kategori bulunamadı: {item['categoryId']}.")
        if not isinstance(item.get("attributes", []), list):
            reasons.append("attributes bir liste olmalıdır.")
        return reasons

    def _batch(self, batch_id: str) -> tuple[int, Any, dict[str, str]]:
        batch = self.batches.get(batch_id)
        if batch is None:
            return 404, {"errors": [{"message": "batch not found"}]}, {}
        if batch["polls"] > 0:
            batch["polls"] -= 1
            items = [
                {**item, "status": "IN_PROGRESS", "failureReasons": []} for item in batch["items"]
            ]
            return 200, {"batchRequestId": batch_id, "items": items}, {}
        return 200, {"batchRequestId": batch_id, "items": batch["items"]}, {}

    def _orders(self, query: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        page, size = int(query.get("page", 0)), int(query.get("size", 50))
        chosen = [
            package
            for package in self.packages
            if not query.get("status") or package["status"] == query["status"]
        ]
        pages = max((len(chosen) + size - 1) // size, 1)
        return (
            200,
            {
                "page": page,
                "size": size,
                "totalPages": pages,
                "totalElements": len(chosen),
                "content": chosen[page * size : (page + 1) * size],
            },
            {},
        )


class _Handler(BaseHTTPRequestHandler):
    fake: FakeTrendyol

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode() if length else ""
        body = json.loads(raw) if raw else None
        parts = urlsplit(self.path)
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        headers = {key.lower(): value for key, value in self.headers.items()}
        if self.fake.stall_next:
            time.sleep(self.fake.stall_next.pop(0))
        status, answer, extra = self.fake.handle(method, parts.path, query, body, headers)
        payload = json.dumps(answer).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for key, value in extra.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
            pass

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def fake_trendyol_server() -> Iterator[FakeTrendyol]:
    """A FakeTrendyol listening on a free local port for the duration of the block."""
    fake = FakeTrendyol()
    handler = type("Handler", (_Handler,), {"fake": fake})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
