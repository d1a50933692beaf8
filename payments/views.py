"""Endpoints payment providers call."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from payments.stripe_events import WebhookRefused, stripe_webhook_receive


@csrf_exempt  # Stripe signs its requests (Stripe-Signature); there is no session here.
@require_POST
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    """Stripe's events: 400 for a body that is not Stripe's (bad signature, too old,
    not an event), 200 once it is recorded, whether it changed something or not."""
    try:
        outcome = stripe_webhook_receive(
            body=request.body, signature=request.headers.get("Stripe-Signature", "")
        )
    except WebhookRefused as error:
        return JsonResponse({"error": error.code, "message": str(error)}, status=400)
    return JsonResponse({"received": True, "outcome": outcome})
