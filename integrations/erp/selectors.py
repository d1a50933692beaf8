"""Reads of the ERP API: products with their prices and stock, the order feed
(a cursor over (updated_at, id)), one order, an order's documents.

Each read runs a fixed number of queries, however many rows it returns.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext

from catalog.models import Product, Variant
from integrations.erp.errors import ErpError
from invoicing.models import Invoice
from invoicing.selectors import customer_documents
from orders.models import Order, OrderLine, Shipment
from pricing.models import PriceEntry, StockLevel


def products_page(*, page: int, page_size: int) -> tuple[int, list[Product]]:
    """One page of products (by id) with their names, variants, prices per list and
    stock per pool: six queries (the count, the page, texts, variants, prices, stock)."""
    products = Product.objects.order_by("pk")
    total = products.count()
    start = (page - 1) * page_size
    rows = list(products_with_offers(products)[start : start + page_size])
    return total, rows


def products_with_offers(products: QuerySet[Product]) -> QuerySet[Product]:
    """``products`` with what the API shows of them prefetched."""
    return products.prefetch_related(
        "translations",
        Prefetch(
            "variants",
            queryset=Variant.objects.order_by("position", "pk").prefetch_related(
                Prefetch(
                    "price_entries",
                    queryset=PriceEntry.objects.select_related("price_list").order_by(
                        "price_list__code"
                    ),
                ),
                Prefetch(
                    "stock_levels",
                    queryset=StockLevel.objects.select_related("pool").order_by("pool__code"),
                ),
            ),
        ),
    )


def product_by_id(product_id: int) -> Product | None:
    return products_with_offers(Product.objects.filter(pk=product_id)).first()


@dataclass(frozen=True)
class FeedPosition:
    """Where a client is in the order feed: the last (updated_at, id) it has seen."""

    updated_at: datetime
    order_id: int

    def encode(self) -> str:
        raw = json.dumps([self.updated_at.isoformat(), self.order_id]).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, cursor: str) -> FeedPosition:
        """The position a cursor stands for; ``ErpError`` (422) for anything else."""
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            stamp, order_id = json.loads(raw)
            updated_at = parse_datetime(stamp)
            if updated_at is None or timezone.is_naive(updated_at):
                raise ValueError(stamp)
            if not isinstance(order_id, int) or not 0 <= order_id < 2**63:
                raise ValueError(order_id)
        except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as error:
            raise ErpError(
                422,
                "invalid_cursor",
                gettext("This cursor was not given by the order feed."),
                field="cursor",
            ) from error
        return cls(updated_at, order_id)


def orders_query() -> QuerySet[Order]:
    """Orders with everything the API shows of them, in four queries for any number."""
    return Order.objects.select_related("market", "erp_acknowledgement").prefetch_related(
        Prefetch(
            "lines",
            queryset=OrderLine.objects.select_related("ship_from_pool").order_by("pk"),
        ),
        Prefetch("shipments", queryset=Shipment.objects.prefetch_related("lines").order_by("pk")),
    )


def orders_changed_since(
    *, cursor: str | None, limit: int
) -> tuple[list[Order], FeedPosition | None]:
    """Orders created or changed after ``cursor`` (all orders when None), oldest change
    first, at most ``limit``; and the position after the last one (None if none).

    Changes younger than ``ERP_ORDER_FEED_LAG_SECONDS`` wait for the next call: a
    transaction that stamped its ``updated_at`` earlier but commits later would
    otherwise fall behind a cursor that already passed it.
    """
    orders = orders_query().filter(
        updated_at__lte=timezone.now() - timedelta(seconds=settings.ERP_ORDER_FEED_LAG_SECONDS)
    )
    if cursor:
        position = FeedPosition.decode(cursor)
        orders = orders.filter(
            Q(updated_at__gt=position.updated_at)
            | Q(updated_at=position.updated_at, pk__gt=position.order_id)
        )
    found = list(orders.order_by("updated_at", "pk")[:limit])
    if not found:
        return [], None
    last = found[-1]
    return found, FeedPosition(last.updated_at, last.pk)


def order_by_number(number: str) -> Order | None:
    if not number or len(number) > 20 or "\x00" in number:
        return None
    return orders_query().filter(number=number).first()


def order_documents(order: Order) -> QuerySet[Invoice]:
    """The order's invoices and credit notes, oldest first."""
    return customer_documents(order)


def document_of_order(invoice_id: int) -> Invoice | None:
    """An invoice or credit note of any order (not a proforma), with its order."""
    if not 0 < invoice_id < 2**63:
        return None
    return (
        Invoice.objects.filter(pk=invoice_id, order__isnull=False)
        .exclude(kind="proforma")
        .select_related("order")
        .first()
    )
