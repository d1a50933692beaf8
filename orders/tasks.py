"""Background jobs of orders (run by beat; see CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from celery import shared_task

from orders.services import orders_expire, outbox_drain


@shared_task
def reservations_expire() -> list[str]:
    """Cancel unpaid orders whose stock reservations expired (every minute)."""
    return orders_expire()


@shared_task
def outbox_process() -> int:
    """Hand on the events orders wrote to the outbox (every few seconds)."""
    return outbox_drain()
