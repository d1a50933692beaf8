"""ERP REST API: ``/api/v1/``. The OpenAPI document is at ``/api/v1/openapi.json``.

An ERP reads the catalogue and the orders and writes prices, stock,
acknowledgements and shipments, with a token made in the admin or with
``manage.py api_token_create``: ``Authorization: Bearer <token>``. Each token
carries scopes (``catalog:read``, ``prices:write``, ``stock:write``,
``orders:read``, ``orders:write``, ``invoices:read``); each endpoint needs one.

Errors are JSON ``{"code", "message"}`` plus ``field`` or ``errors`` (a list of
``{"row", "field", "message"}``, ``row`` being the 0-based position in
``rows`` of a bulk call); a refused call changes nothing. Amounts are decimal
strings. POST calls take an ``Idempotency-Key`` header; each token's requests
are rate limited (429 with ``Retry-After``).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

import redis
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext
from ninja import Header, NinjaAPI, Query, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer
from pydantic import AwareDatetime, Field, StringConstraints

from catalog.models import Product, Variant
from integrations.erp.errors import ErpError, RowError
from integrations.erp.models import ApiToken, Scope
from integrations.erp.selectors import (
    FeedPosition,
    document_of_order,
    order_by_number,
    order_documents,
    orders_changed_since,
    product_by_id,
    products_page,
    products_with_offers,
)
from integrations.erp.services import (
    MAX_ROWS,
    PriceRow,
    StockRow,
    idempotent,
    order_acknowledge,
    order_ship,
    prices_write,
    request_fingerprint,
    stock_write,
)
from integrations.erp.tokens import api_token_for, api_token_used
from integrations.erp.webhooks import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER
from integrations.ratelimit import token_take
from invoicing.models import Invoice
from orders.models import Order, OrderLine, Shipment

logger = logging.getLogger(__name__)

DESCRIPTION = f"""
Catalogue, prices, stock, orders, shipments and invoices for an ERP.

Send a token as `Authorization: Bearer <token>`; each endpoint names the scope it
needs. Errors are JSON `{{"code", "message"}}`, with `field` or `errors` (a list of
`{{"row", "field", "message"}}`; `row` is the 0-based position in `rows`). A refused
call changes nothing. POST calls accept an `Idempotency-Key` header (its first answer
is replayed for 24 hours by default). Too many requests get 429 with `Retry-After`.

**Webhooks.** Subscribers receive POSTs of `{{"id", "type", "created_at", "data"}}`
for `order.created`, `order.paid`, `order.shipped`, `order.cancelled`,
`invoice.issued` and `stock.low`, with the headers `{EVENT_HEADER}` (the type),
`{DELIVERY_HEADER}` (the event id, the same in every retry) and
`{SIGNATURE_HEADER}: t=<unix time>,v1=<hex>`, where `v1` is the HMAC-SHA256 of
`"<t>.<raw body>"` with the subscriber's secret. Answer 2xx; anything else is
retried with exponential backoff.
"""

api = NinjaAPI(
    title="Kervan ERP API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="erp-api",
)


class RateLimited(Exception):
    def __init__(self, wait: float) -> None:
        super().__init__("rate limited")
        self.wait = wait


class ScopedToken(HttpBearer):
    """An API token that carries ``scope``; its requests are rate limited per token."""

    def __init__(self, scope: str) -> None:
        super().__init__()
        self.scope = scope

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        row = api_token_for(token)
        if row is None:
            return None
        try:
            wait = token_take(
                f"erp-api:{row.pk}", rate=settings.ERP_API_RATE, burst=settings.ERP_API_BURST
            )
        except redis.RedisError as error:  # no Redis, no limit: the API stays up
            logger.warning("API rate limit not checked: %s", error)
            wait = 0.0
        if wait:
            raise RateLimited(wait)
        if not row.allows(self.scope):
            raise ErpError(
                403,
                "missing_scope",
                gettext("This token lacks the scope %(scope)s.") % {"scope": self.scope},
            )
        api_token_used(row)
        return row


def _error(request: HttpRequest, status: int, payload: dict[str, Any]) -> HttpResponse:
    return api.create_response(request, payload, status=status)


@api.exception_handler(ErpError)
def _erp_error(request: HttpRequest, error: ErpError) -> HttpResponse:
    return _error(request, error.status, error.payload())


@api.exception_handler(RateLimited)
def _rate_limited(request: HttpRequest, error: RateLimited) -> HttpResponse:
    seconds = max(1, math.ceil(error.wait))
    response = _error(
        request,
        429,
        {
            "code": "rate_limited",
            "message": gettext("Too many requests; try again in %(seconds)s s.")
            % {"seconds": seconds},
        },
    )
    response["Retry-After"] = str(seconds)
    return response


@api.exception_handler(NinjaValidationError)
def _invalid_input(request: HttpRequest, error: NinjaValidationError) -> HttpResponse:
    errors: list[RowError] = []
    for item in error.errors:
        location = [part for part in item.get("loc", ()) if part not in {"body", "payload"}]
        row = None
        if len(location) >= 2 and location[0] == "rows" and isinstance(location[1], int):
            row, location = location[1], location[2:]
        field = ".".join(str(part) for part in location) or "body"
        errors.append({"row": row, "field": field, "message": str(item.get("msg", ""))})
    fields = sorted({entry["field"] for entry in errors})
    payload = {
        "code": "invalid_input",
        "message": gettext("The request is not valid: %(fields)s.")
        % {"fields": ", ".join(fields[:20])},
        "errors": errors[:500],
    }
    return _error(request, 422, payload)


@api.exception_handler(AuthenticationError)
def _unauthorized(request: HttpRequest, error: AuthenticationError) -> HttpResponse:
    payload = {
        "code": "unauthorized",
        "message": gettext("Send an active API token as 'Authorization: Bearer <token>'."),
    }
    return _error(request, 401, payload)


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, error: HttpError) -> HttpResponse:
    return _error(request, error.status_code, {"code": "bad_request", "message": str(error)})


# Schemas


class RowErrorOut(Schema):
    row: int | None = Field(description="0-based position in `rows`; null when not a row.")
    field: str
    message: str


class ErrorOut(Schema):
    code: str
    message: str
    field: str = ""
    errors: list[RowErrorOut] = []


ERRORS: dict[int, Any] = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 422: ErrorOut, 429: ErrorOut}


class PriceOut(Schema):
    price_list: str
    currency: str
    amount: str
    compare_at: str | None
    sale: str | None
    sale_starts_at: datetime | None
    sale_ends_at: datetime | None
    is_manual: bool


class StockOut(Schema):
    pool: str
    quantity: int
    reserved: int
    available: int


class VariantOut(Schema):
    id: int
    product_id: int
    sku: str
    gtin: str
    is_active: bool
    allows_backorder: bool
    low_stock_threshold: int
    prices: list[PriceOut]
    stock: list[StockOut]


class ProductOut(Schema):
    id: int
    names: dict[str, str] = Field(description="Name per language.")
    visibility: str
    is_published: bool
    updated_at: datetime
    variants: list[VariantOut]


class ProductPageOut(Schema):
    count: int
    page: int
    page_size: int
    items: list[ProductOut]


class PageIn(Schema):
    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(100, ge=1, le=200)


class SkusIn(Schema):
    sku: list[Code] = Field(min_length=1, max_length=200, description="Repeat: ?sku=A&sku=B.")


# Codes (SKU, price list, pool) hold no control characters; free texts no NUL
# (PostgreSQL cannot store it).
Code = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f]+$")]
Text = Annotated[str, StringConstraints(max_length=100, pattern=r"^[^\x00]*$")]
Cursor = Annotated[str, StringConstraints(max_length=200, pattern=r"^[A-Za-z0-9_-]*$")]


class PriceRowIn(Schema):
    sku: Code
    price_list: Code = Field(description="The price list's code.")
    amount: Decimal = Field(gt=0, max_digits=14, decimal_places=4, allow_inf_nan=False)
    compare_at: Decimal | None = Field(
        None, gt=0, max_digits=14, decimal_places=4, allow_inf_nan=False
    )
    sale: Decimal | None = Field(None, gt=0, max_digits=14, decimal_places=4, allow_inf_nan=False)
    sale_starts_at: AwareDatetime | None = None
    sale_ends_at: AwareDatetime | None = None


class PricesIn(Schema):
    rows: list[PriceRowIn] = Field(min_length=1, max_length=MAX_ROWS)


class StockRowIn(Schema):
    sku: Code
    pool: Code = Field(description="The stock pool's code.")
    quantity: int = Field(ge=0, le=2_000_000_000)


class StockIn(Schema):
    rows: list[StockRowIn] = Field(min_length=1, max_length=MAX_ROWS)


class BulkOut(Schema):
    rows: int = Field(description="Rows received.")
    changed: int = Field(description="Rows that changed something.")


class AddressOut(Schema):
    first_name: str
    last_name: str
    company: str
    line1: str
    line2: str
    city: str
    district: str
    postal_code: str
    region: str
    country: str


class AmountsOut(Schema):
    net: str
    tax: str
    gross: str


class OrderLineOut(Schema):
    id: int
    sku: str
    name: str
    quantity: int
    shipped: int
    unit: AmountsOut
    total: AmountsOut
    tax_rate: str
    tax_category: str
    hs_code: str
    origin_country: str
    ships_from_pool: str | None
    weight_grams: int


class ShipmentLineOut(Schema):
    line_id: int
    quantity: int


class ShipmentOut(Schema):
    id: int
    carrier: str
    tracking_number: str
    tracking_url: str
    shipped_at: datetime
    lines: list[ShipmentLineOut]


class OrderShippingOut(Schema):
    method: str
    carrier: str
    amounts: AmountsOut
    tax_rate: str


class OrderPaymentOut(Schema):
    method: str
    name: str
    pays_on_delivery: bool
    fee: AmountsOut


class OrderTotalsOut(Schema):
    subtotal: AmountsOut
    total: AmountsOut
    duty_mode: str
    duty: str


class AcknowledgementOut(Schema):
    order: str
    reference: str
    acknowledged_at: datetime


class OrderOut(Schema):
    id: int
    number: str
    status: str
    channel: str = Field(description="Where it was placed: `storefront` or a marketplace.")
    channel_reference: str = Field(description="The channel's own number for it, if any.")
    market: str
    currency: str
    language: str
    prices_include_tax: bool
    email: str
    phone: str
    vat_number: str
    reverse_charge: bool
    export: bool
    tax_notes: str
    created_at: datetime
    updated_at: datetime
    paid_at: datetime | None
    billing_address: AddressOut
    shipping_address: AddressOut
    lines: list[OrderLineOut]
    shipping: OrderShippingOut
    payment: OrderPaymentOut
    totals: OrderTotalsOut
    shipments: list[ShipmentOut]
    acknowledgement: AcknowledgementOut | None


class OrderFeedIn(Schema):
    cursor: Cursor | None = Field(
        None, description="`next_cursor` of the previous page; none: start."
    )
    limit: int = Field(100, ge=1, le=500)


class OrderFeedOut(Schema):
    items: list[OrderOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next changes (the same when there were none)."
    )
    has_more: bool


class AcknowledgeIn(Schema):
    reference: Text = Field("", description="The order's number in the ERP.")


class ShipmentLineIn(Schema):
    line_id: int = Field(ge=1, le=2**62, description="`id` of an order line.")
    quantity: int = Field(ge=1, le=1_000_000)


class ShipmentIn(Schema):
    carrier: Text = ""
    tracking_number: Text = ""
    lines: list[ShipmentLineIn] = Field(min_length=1, max_length=500)


class ShipmentCreatedOut(Schema):
    shipment: ShipmentOut
    order_status: str


class InvoiceOut(Schema):
    id: int
    kind: str
    number: str
    issue_date: date
    due_date: date | None
    currency: str
    net: str
    tax: str
    total: str
    payable: str
    credits_invoice: str | None
    pdf_url: str
    ubl_url: str


# Serialisation


def _money(amount: Decimal) -> str:
    """A decimal string with at least two decimals and no trailing zeros past them."""
    cents = amount.quantize(Decimal("0.01"))
    return f"{cents if cents == amount else amount.normalize():f}"


def _amounts(net: Decimal, tax: Decimal, gross: Decimal) -> AmountsOut:
    return AmountsOut(net=_money(net), tax=_money(tax), gross=_money(gross))


def _variant_out(variant: Variant) -> VariantOut:
    return VariantOut(
        id=variant.pk,
        product_id=variant.product_id,
        sku=variant.sku,
        gtin=variant.gtin,
        is_active=variant.is_active,
        allows_backorder=variant.allows_backorder,
        low_stock_threshold=variant.low_stock_threshold,
        prices=[
            PriceOut(
                price_list=entry.price_list.code,
                currency=entry.price_list.currency,
                amount=_money(entry.amount),
                compare_at=_money(entry.compare_at_amount) if entry.compare_at_amount else None,
                sale=_money(entry.sale_amount) if entry.sale_amount else None,
                sale_starts_at=entry.sale_starts_at,
                sale_ends_at=entry.sale_ends_at,
                is_manual=entry.is_manual,
            )
            for entry in variant.price_entries.all()
        ],
        stock=[
            StockOut(
                pool=level.pool.code,
                quantity=level.quantity,
                reserved=level.reserved,
                available=level.available,
            )
            for level in variant.stock_levels.all()
        ],
    )


def _product_out(product: Product) -> ProductOut:
    return ProductOut(
        id=product.pk,
        names={row.language: row.name for row in product.translations.all()},
        visibility=product.visibility,
        is_published=product.is_published,
        updated_at=product.updated_at,
        variants=[_variant_out(variant) for variant in product.variants.all()],
    )


def _address(order: Order, prefix: str) -> AddressOut:
    return AddressOut(
        **{
            name: getattr(order, f"{prefix}{name}")
            for name in (
                "first_name",
                "last_name",
                "company",
                "line1",
                "line2",
                "city",
                "district",
                "postal_code",
            )
        },
        region=getattr(order, f"{prefix}region_code"),
        country=getattr(order, f"{prefix}country"),
    )


def _shipment_out(shipment: Shipment) -> ShipmentOut:
    return ShipmentOut(
        id=shipment.pk,
        carrier=shipment.carrier,
        tracking_number=shipment.tracking_number,
        tracking_url=shipment.tracking_url,
        shipped_at=shipment.shipped_at,
        lines=[
            ShipmentLineOut(line_id=line.order_line_id, quantity=line.quantity)
            for line in shipment.lines.all()
        ],
    )


def _line_out(line: OrderLine, shipped: int) -> OrderLineOut:
    return OrderLineOut(
        id=line.pk,
        sku=line.sku,
        name=line.name,
        quantity=line.quantity,
        shipped=shipped,
        unit=_amounts(line.unit_net, line.unit_tax, line.unit_gross),
        total=_amounts(line.line_net, line.line_tax, line.line_gross),
        tax_rate=f"{line.tax_rate:f}",
        tax_category=line.tax_category,
        hs_code=line.hs_code,
        origin_country=line.origin_country,
        ships_from_pool=line.ship_from_pool.code if line.ship_from_pool else None,
        weight_grams=line.weight_grams,
    )


def _order_out(order: Order) -> OrderOut:
    shipments = list(order.shipments.all())
    shipped: dict[int, int] = {}
    for shipment in shipments:
        for shipment_line in shipment.lines.all():
            line_id = shipment_line.order_line_id
            shipped[line_id] = shipped.get(line_id, 0) + shipment_line.quantity
    acknowledgement = getattr(order, "erp_acknowledgement", None)
    return OrderOut(
        id=order.pk,
        number=order.number,
        status=order.status,
        # Orders carry their channel once marketplaces import orders.
        channel=str(getattr(order, "channel", "") or "storefront"),
        channel_reference=str(getattr(order, "external_reference", "") or ""),
        market=order.market.code,
        currency=order.currency,
        language=order.language,
        prices_include_tax=order.prices_include_tax,
        email=order.email,
        phone=order.phone,
        vat_number=order.vat_number,
        reverse_charge=order.reverse_charge,
        export=order.export,
        tax_notes=order.tax_notes,
        created_at=order.created_at,
        updated_at=order.updated_at,
        paid_at=order.paid_at,
        billing_address=_address(order, "billing_"),
        shipping_address=_address(order, "shipping_"),
        lines=[_line_out(line, shipped.get(line.pk, 0)) for line in order.lines.all()],
        shipping=OrderShippingOut(
            method=order.shipping_method_name,
            carrier=order.shipping_carrier,
            amounts=_amounts(order.shipping_net, order.shipping_tax, order.shipping_gross),
            tax_rate=f"{order.shipping_tax_rate:f}",
        ),
        payment=OrderPaymentOut(
            method=order.payment_method_code,
            name=order.payment_method_name,
            pays_on_delivery=order.pays_on_delivery,
            fee=_amounts(order.payment_fee_net, order.payment_fee_tax, order.payment_fee_gross),
        ),
        totals=OrderTotalsOut(
            subtotal=_amounts(order.subtotal_net, order.subtotal_tax, order.subtotal_gross),
            total=_amounts(order.total_net, order.total_tax, order.total_gross),
            duty_mode=order.duty_mode,
            duty=_money(order.duty_amount),
        ),
        shipments=[_shipment_out(shipment) for shipment in shipments],
        acknowledgement=(
            AcknowledgementOut(
                order=order.number,
                reference=acknowledgement.reference,
                acknowledged_at=acknowledgement.acknowledged_at,
            )
            if acknowledgement is not None
            else None
        ),
    )


def _invoice_out(document: Invoice) -> InvoiceOut:
    return InvoiceOut(
        id=document.pk,
        kind=document.kind,
        number=document.display_number,
        issue_date=document.issue_date,
        due_date=document.due_date,
        currency=document.currency,
        net=_money(document.tax_exclusive),
        tax=_money(document.tax_total),
        total=_money(document.tax_inclusive),
        payable=_money(document.payable),
        credits_invoice=document.credited.display_number if document.credited else None,
        pdf_url=f"/api/v1/invoices/{document.pk}/pdf",
        ubl_url=f"/api/v1/invoices/{document.pk}/ubl",
    )


def _order(number: str) -> Order:
    order = order_by_number(number)
    if order is None:
        raise ErpError(404, "order_not_found", gettext("No order has this number."))
    return order


def _posted(
    request: HttpRequest, key: str | None, compute: Callable[[], tuple[int, Schema]]
) -> HttpResponse:
    """Run a write and answer it; with an ``Idempotency-Key``, the first answer is kept
    and replayed (header ``Idempotent-Replayed: true``)."""

    def run() -> tuple[int, str]:
        try:
            with transaction.atomic():
                status, out = compute()
            payload = out.model_dump(mode="json")
        except ErpError as refused:
            status, payload = refused.status, refused.payload()
        return status, json.dumps(payload, cls=DjangoJSONEncoder)

    token: ApiToken = request.auth  # type: ignore[attr-defined]
    replayed = False
    if key is None:
        status, body = run()
    else:
        fingerprint = request_fingerprint(request.method or "", request.path, request.body)
        status, body, replayed = idempotent(token=token, key=key, fingerprint=fingerprint, run=run)
    response = HttpResponse(body, status=status, content_type="application/json")
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return response


IDEMPOTENCY_KEY = Header(
    None,
    alias="Idempotency-Key",
    max_length=255,
    description="Repeat a POST safely: the first answer under this key is replayed.",
)
WRITE_ERRORS = {**ERRORS, 404: ErrorOut, 409: ErrorOut}
PDF = {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}
XML = {"application/xml": {"schema": {"type": "string"}}}


# Endpoints: catalogue


@api.get(
    "/products",
    response={200: ProductPageOut, **ERRORS},
    auth=ScopedToken(Scope.CATALOG_READ),
    tags=["catalogue"],
)
def list_products(request: HttpRequest, paging: Query[PageIn]) -> ProductPageOut:
    """Products by id, a page at a time, with variants, prices per price list and stock
    per pool. Scope `catalog:read`."""
    count, products = products_page(page=paging.page, page_size=paging.page_size)
    return ProductPageOut(
        count=count,
        page=paging.page,
        page_size=paging.page_size,
        items=[_product_out(product) for product in products],
    )


@api.get(
    "/products/{product_id}",
    response={200: ProductOut, 404: ErrorOut, **ERRORS},
    auth=ScopedToken(Scope.CATALOG_READ),
    tags=["catalogue"],
)
def get_product(request: HttpRequest, product_id: int) -> ProductOut:
    """One product. Scope `catalog:read`."""
    product = product_by_id(product_id) if 0 < product_id < 2**63 else None
    if product is None:
        raise ErpError(404, "product_not_found", gettext("No product has this id."))
    return _product_out(product)


@api.get(
    "/variants",
    response={200: list[VariantOut], **ERRORS},
    auth=ScopedToken(Scope.CATALOG_READ),
    tags=["catalogue"],
)
def list_variants(request: HttpRequest, filters: Query[SkusIn]) -> list[VariantOut]:
    """Variants by SKU (unknown SKUs are left out). Scope `catalog:read`."""
    products = products_with_offers(
        Product.objects.filter(variants__sku__in=filters.sku).distinct().order_by("pk")
    )
    wanted = set(filters.sku)
    return [
        _variant_out(variant)
        for product in products
        for variant in product.variants.all()
        if variant.sku in wanted
    ]


@api.post(
    "/prices",
    response={200: BulkOut, **WRITE_ERRORS},
    auth=ScopedToken(Scope.PRICES_WRITE),
    tags=["catalogue"],
)
def write_prices(
    request: HttpRequest, payload: PricesIn, idempotency_key: str | None = IDEMPOTENCY_KEY
) -> HttpResponse:
    """Set up to 10,000 prices (SKU, price list, amount, optional compare-at and sale),
    all or none. A row sets the whole price: a compare-at or sale left out is
    cleared. Derived price lists follow. Scope `prices:write`."""

    def compute() -> tuple[int, Schema]:
        result = prices_write(
            rows=[
                PriceRow(
                    sku=row.sku,
                    price_list=row.price_list,
                    amount=row.amount,
                    compare_at=row.compare_at,
                    sale=row.sale,
                    sale_starts_at=row.sale_starts_at,
                    sale_ends_at=row.sale_ends_at,
                )
                for row in payload.rows
            ]
        )
        return 200, BulkOut(rows=result.rows, changed=result.changed)

    return _posted(request, idempotency_key, compute)


@api.post(
    "/stock",
    response={200: BulkOut, **WRITE_ERRORS},
    auth=ScopedToken(Scope.STOCK_WRITE),
    tags=["catalogue"],
)
def write_stock(
    request: HttpRequest, payload: StockIn, idempotency_key: str | None = IDEMPOTENCY_KEY
) -> HttpResponse:
    """Set up to 10,000 stock quantities (SKU, pool, quantity on hand), all or none.
    Units reserved by open orders stay reserved. Scope `stock:write`."""

    def compute() -> tuple[int, Schema]:
        result = stock_write(
            rows=[
                StockRow(sku=row.sku, pool=row.pool, quantity=row.quantity) for row in payload.rows
            ]
        )
        return 200, BulkOut(rows=result.rows, changed=result.changed)

    return _posted(request, idempotency_key, compute)


# Endpoints: orders


@api.get(
    "/orders",
    response={200: OrderFeedOut, **ERRORS},
    auth=ScopedToken(Scope.ORDERS_READ),
    tags=["orders"],
)
def list_orders(request: HttpRequest, feed: Query[OrderFeedIn]) -> OrderFeedOut:
    """Orders placed or changed since `cursor`, oldest change first. Keep the last
    `next_cursor` and call again to get the next changes. Scope `orders:read`."""
    orders, position = orders_changed_since(cursor=feed.cursor, limit=feed.limit)
    return OrderFeedOut(
        items=[_order_out(order) for order in orders],
        next_cursor=position.encode() if position else feed.cursor,
        has_more=len(orders) == feed.limit,
    )


@api.get(
    "/orders/{number}",
    response={200: OrderOut, 404: ErrorOut, **ERRORS},
    auth=ScopedToken(Scope.ORDERS_READ),
    tags=["orders"],
)
def get_order(request: HttpRequest, number: str) -> OrderOut:
    """One order by its number. Scope `orders:read`."""
    return _order_out(_order(number))


@api.post(
    "/orders/{number}/acknowledgement",
    response={200: AcknowledgementOut, 201: AcknowledgementOut, **WRITE_ERRORS},
    auth=ScopedToken(Scope.ORDERS_WRITE),
    tags=["orders"],
)
def acknowledge_order(
    request: HttpRequest,
    number: str,
    payload: AcknowledgeIn,
    idempotency_key: str | None = IDEMPOTENCY_KEY,
) -> HttpResponse:
    """Say that the ERP has taken the order (201); again changes nothing (200, the
    first acknowledgement). Scope `orders:write`."""

    def compute() -> tuple[int, Schema]:
        order = _order(number)
        acknowledgement, created = order_acknowledge(
            order=order,
            token=request.auth,  # type: ignore[attr-defined]
            reference=payload.reference,
        )
        out = AcknowledgementOut(
            order=order.number,
            reference=acknowledgement.reference,
            acknowledged_at=acknowledgement.acknowledged_at,
        )
        return (201 if created else 200), out

    return _posted(request, idempotency_key, compute)


@api.post(
    "/orders/{number}/shipments",
    response={201: ShipmentCreatedOut, **WRITE_ERRORS},
    auth=ScopedToken(Scope.ORDERS_WRITE),
    tags=["orders"],
)
def create_shipment(
    request: HttpRequest,
    number: str,
    payload: ShipmentIn,
    idempotency_key: str | None = IDEMPOTENCY_KEY,
) -> HttpResponse:
    """Ship some or all units of the order's lines with a carrier and tracking number;
    the order becomes partially shipped or shipped. Scope `orders:write`."""

    def compute() -> tuple[int, Schema]:
        order = _order(number)
        lines: dict[int, int] = {}
        for index, line in enumerate(payload.lines):
            if line.line_id in lines:
                raise ErpError(
                    422,
                    "duplicate_line",
                    gettext("Each line may appear once in a shipment."),
                    errors=[
                        {"row": index, "field": "line_id", "message": gettext("Repeated line.")}
                    ],
                )
            lines[line.line_id] = line.quantity
        shipment = order_ship(
            order=order,
            token=request.auth,  # type: ignore[attr-defined]
            lines=lines,
            carrier=payload.carrier,
            tracking_number=payload.tracking_number,
        )
        return 201, ShipmentCreatedOut(shipment=_shipment_out(shipment), order_status=order.status)

    return _posted(request, idempotency_key, compute)


# Endpoints: invoices


@api.get(
    "/orders/{number}/invoices",
    response={200: list[InvoiceOut], 404: ErrorOut, **ERRORS},
    auth=ScopedToken(Scope.INVOICES_READ),
    tags=["invoices"],
)
def list_invoices(request: HttpRequest, number: str) -> list[InvoiceOut]:
    """The order's invoices and credit notes, oldest first. Scope `invoices:read`."""
    order = order_by_number(number) if number else None
    if order is None:
        raise ErpError(404, "order_not_found", gettext("No order has this number."))
    return [_invoice_out(document) for document in order_documents(order)]


def _document(invoice_id: int) -> Invoice:
    document = document_of_order(invoice_id)
    if document is None:
        raise ErpError(404, "invoice_not_found", gettext("No invoice has this id."))
    return document


@api.get(
    "/invoices/{invoice_id}/pdf",
    response={404: ErrorOut, **ERRORS},
    openapi_extra={"responses": {200: {"description": "The PDF.", "content": PDF}}},
    auth=ScopedToken(Scope.INVOICES_READ),
    tags=["invoices"],
)
def invoice_pdf_download(request: HttpRequest, invoice_id: int) -> HttpResponse:
    """The invoice or credit note as a PDF. Scope `invoices:read`."""
    from invoicing.pdf import document_filename, invoice_pdf

    document = _document(invoice_id)
    response = HttpResponse(invoice_pdf(document), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{document_filename(document, "pdf")}"'
    return response


@api.get(
    "/invoices/{invoice_id}/ubl",
    response={404: ErrorOut, **ERRORS},
    openapi_extra={"responses": {200: {"description": "The UBL document.", "content": XML}}},
    auth=ScopedToken(Scope.INVOICES_READ),
    tags=["invoices"],
)
def invoice_ubl_download(request: HttpRequest, invoice_id: int) -> HttpResponse:
    """The structured e-invoice (UBL XML) as issued. Scope `invoices:read`."""
    from invoicing.pdf import document_filename

    document = _document(invoice_id)
    if not document.xml:
        raise ErpError(404, "no_structured_document", gettext("This document has no UBL file."))
    response = HttpResponse(document.xml, content_type="application/xml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{document_filename(document, "xml")}"'
    return response


__all__ = ["FeedPosition", "api"]
