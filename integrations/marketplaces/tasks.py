"""Background jobs of marketplace sync (beat runs them; see CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from integrations.marketplaces import services
from integrations.marketplaces.adapters.base import TransientError
from integrations.marketplaces.models import Marketplace
from shop.tasks import retrying_task

PUBLISH_TIME_LIMIT = 30 * 60  # 100,000 listings are 100 batches of a few seconds each
PUBLISH_BUSY_RETRY_SECONDS = 30


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


@shared_task(
    bind=True,
    acks_late=True,
    time_limit=PUBLISH_TIME_LIMIT,
    soft_time_limit=PUBLISH_TIME_LIMIT - 30,
    max_retries=20,
)
def listings_publish(
    self: Any, marketplace_id: int, listing_ids: list[int] | None = None, update: bool = False
) -> dict[str, Any]:
    """Create (or update) listings' products on a marketplace; progress in the task log.

    Idempotent: listings already waiting for a product request's result are
    skipped, batches recorded but not sent go out with the next relay run.
    While the relay works on the marketplace, it is tried again shortly.
    """
    marketplace = Marketplace.objects.select_related("market").filter(pk=marketplace_id).first()
    if marketplace is None:
        return {"skipped": f"no marketplace {marketplace_id}"}
    try:
        report = services.listings_publish(
            marketplace=marketplace, listing_ids=listing_ids, update=update
        )
    except services.ListingPublishError as error:
        return {"skipped": str(error)}
    if report.busy:
        raise self.retry(countdown=PUBLISH_BUSY_RETRY_SECONDS)
    return vars(report)
