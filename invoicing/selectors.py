"""Reads of issued documents."""

from __future__ import annotations

from django.db.models import QuerySet

from invoicing.models import DocumentKind, Invoice
from orders.models import Order


def customer_documents(order: Order) -> QuerySet[Invoice]:
    """The invoices and credit notes a customer may download for ``order`` (not
    proformas, which the merchant hands out), oldest first."""
    return (
        Invoice.objects.filter(order=order)
        .exclude(kind=DocumentKind.PROFORMA)
        .select_related("credited")
        .order_by("created_at", "pk")
    )
