"""Background jobs of the ERP integration: sending webhooks, forgetting old
idempotency keys."""

from __future__ import annotations

from celery import shared_task

from integrations.erp import services, webhooks


@shared_task(acks_late=True, ignore_result=True, time_limit=120, soft_time_limit=90)
def webhook_send(delivery_id: int) -> str:
    """Send one webhook delivery if it is due; a failure schedules the next attempt
    itself (backoff in ``webhooks.webhook_deliver``), so the task never raises for it."""
    return webhooks.webhook_deliver(delivery_id=delivery_id)


@shared_task
def webhook_deliveries_due() -> int:
    """Queue deliveries whose attempt is due but not queued (every minute)."""
    return webhooks.webhook_deliveries_due()


@shared_task
def idempotency_keys_prune() -> int:
    """Forget idempotency keys past their time (daily)."""
    return services.idempotency_keys_prune()
