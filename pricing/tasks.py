"""Background jobs of pricing."""

from __future__ import annotations

from celery import shared_task

from pricing.rates import RatesDownloadError, fetch_ecb_xml, rates_update


@shared_task(
    autoretry_for=(RatesDownloadError,),
    retry_backoff=60,
    retry_backoff_max=60 * 30,
    max_retries=3,
)
def update_exchange_rates() -> dict[str, object]:
    """Download the ECB reference rates and recompute derived prices (daily, from beat).

    Network failures are retried with backoff; a document that cannot be used
    fails at once, since asking again returns the same document.
    """
    return rates_update(document=fetch_ecb_xml()).as_dict()
