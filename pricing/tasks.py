"""Background jobs of pricing."""

from __future__ import annotations

from celery import shared_task

from pricing.rates import RatesDownloadError, fetch_ecb_xml, rates_update


@shared_task(
    acks_late=True,
    autoretry_for=(RatesDownloadError,),
    retry_backoff=60,
    retry_backoff_max=60 * 30,
    max_retries=5,
    time_limit=10 * 60,
)
def update_exchange_rates() -> dict[str, object]:
    """Download the ECB reference rates and recompute derived prices (daily, from beat).

    Network failures are retried with backoff (for up to about half an hour; the next
    day's run takes over after that); a document that cannot be used fails at
    once, since asking again returns the same document. Each attempt and its
    error is in the task run log. The derived prices it rewrites note their
    products as changed, so the listing table and marketplace sync follow.
    """
    return rates_update(document=fetch_ecb_xml()).as_dict()


@shared_task
def listing_refresh() -> dict[str, object]:
    """Bring the listing table up to date (every few seconds, from beat)."""
    from pricing.listing_upkeep import listing_refresh as refresh

    return refresh().as_dict()
