"""The admin makes tokens (shown once) and subscribers (a secret made when left empty)."""

from __future__ import annotations

import hashlib

import pytest

from integrations.erp.models import ApiToken, WebhookSubscriber

pytestmark = pytest.mark.django_db


def test_a_token_made_in_the_admin_is_shown_once_and_kept_as_a_hash(admin_client):
    response = admin_client.post(
        "/admin/erp/apitoken/add/",
        {"name": "Warehouse", "scopes": ["orders:read", "invoices:read"], "is_active": "on"},
        follow=True,
    )

    row = ApiToken.objects.get()
    [message] = [str(m) for m in response.context["messages"] if "not shown again" in str(m)]
    token = message.rsplit(" ", 1)[-1]
    assert token.startswith(f"kvn_{row.prefix}_")
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert row.scopes == ["invoices:read", "orders:read"]
    page = admin_client.get(f"/admin/erp/apitoken/{row.pk}/change/")
    assert token not in page.content.decode()


def test_a_subscriber_gets_a_secret_when_none_is_given(admin_client):
    response = admin_client.post(
        "/admin/erp/webhooksubscriber/add/",
        {"name": "ERP", "url": "https://erp.example.com/hooks", "events": ["order.created"]},
    )

    assert response.status_code == 302
    subscriber = WebhookSubscriber.objects.get()
    assert subscriber.secret.startswith("whsec_")
    assert subscriber.events == ["order.created"]
    assert not subscriber.is_active  # the checkbox was left unticked


def test_the_delivery_log_opens(admin_client):
    assert admin_client.get("/admin/erp/webhookdelivery/").status_code == 200
    assert admin_client.get("/admin/erp/orderacknowledgement/").status_code == 200
