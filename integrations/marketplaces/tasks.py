"""Background jobs of marketplace sync (beat runs them; see CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from celery import shared_task

from integrations.marketplaces import services
from integrations.marketplaces.adapters.base import TransientError
from shop.tasks import retrying_task


@shared_task(time_limit=600, soft_time_limit=570)
def relay() -> list[dict[str, object]]:
    """Send pending price and stock changes to every active marketplace (every minute)."""
    return [vars(report) for report in services.marketplaces_relay()]


@shared_task(time_limit=600, soft_time_limit=570)
def orders_import() -> list[dict[str, object]]:
    """Import new marketplace orders (every few minutes)."""
    return [vars(report) for report in services.marketplaces_orders_import()]


@shared_task
def resync() -> int:
    """Queue every listed product again; only differences are sent (hourly safety net)."""
    return services.marketplace_resync_note()


@retrying_task(TransientError)
def tracking_send(shipment_id: int) -> bool:
    """Send a shipped marketplace order's tracking number (retried while it is down)."""
    return services.marketplace_tracking_send(shipment_id=shipment_id)
