"""Order events that make documents: the invoice when the order is paid or ships
(as the market is set up), a credit note for every refund, and one for a
cancellation after invoicing. The outbox hands the events here after their
commit; Celery issues the documents."""

from __future__ import annotations

from invoicing.models import IssueOn
from invoicing.services import issue_policy
from orders.models import OutboxEvent
from orders.services import outbox_handler_register

ISSUING_EVENTS = {"order.paid": IssueOn.PAYMENT, "order.shipped": IssueOn.SHIPMENT}
CREDIT_EVENTS = {"order.refunded", "order.cancelled"}


def documents_due(event: OutboxEvent) -> list[tuple[str, tuple[object, ...]]]:
    """The documents an order event calls for, as (task, arguments): the invoice on the
    event the market issues on, a credit note on a refund or a cancellation."""
    if event.order is None:
        return []
    when = ISSUING_EVENTS.get(event.kind)
    if when is not None:
        if issue_policy(event.order.market_id) == when:
            return [("invoice", (event.order_id,))]
        return []
    if event.kind in CREDIT_EVENTS:
        return [("credit_note", (event.order_id, event.kind, event.payload))]
    return []


def invoicing_outbox_handler(event: OutboxEvent) -> None:
    """Queue what ``documents_due`` says (a broker outage raises, and the outbox keeps
    the event for its next run)."""
    from invoicing.tasks import credit_note_task, invoice_issue_task

    for name, args in documents_due(event):
        task = invoice_issue_task if name == "invoice" else credit_note_task
        task.apply_async(args=args)


def invoicing_connect() -> None:
    outbox_handler_register(invoicing_outbox_handler)
