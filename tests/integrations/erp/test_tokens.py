"""API tokens: made once with a printed secret, kept as a hash, checked per scope,
rate limited per token."""

from __future__ import annotations

import hashlib
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from integrations.erp.models import ApiToken
from integrations.erp.tokens import api_token_for

pytestmark = pytest.mark.django_db


def test_api_token_create_prints_the_token_once_and_keeps_only_its_hash():
    out = StringIO()

    call_command(
        "api_token_create", "Warehouse ERP", "--scopes", "orders:read,stock:write", stdout=out
    )

    token = out.getvalue().strip().splitlines()[-1]
    row = ApiToken.objects.get()
    assert token.startswith(f"kvn_{row.prefix}_")
    assert row.name == "Warehouse ERP"
    assert row.scopes == ["orders:read", "stock:write"]
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    stored = [str(value) for value in ApiToken.objects.values_list().get()]
    assert token not in stored
    assert api_token_for(token) == row
    assert api_token_for(token[:-1] + ("x" if token[-1] != "x" else "y")) is None


def test_api_token_create_refuses_unknown_scopes_and_makes_nothing():
    with pytest.raises(CommandError, match="orders:delete"):
        call_command("api_token_create", "ERP", "--scopes", "orders:read,orders:delete")

    assert not ApiToken.objects.exists()


def test_calls_without_a_valid_token_are_unauthorized(erp_client, client):
    erp = erp_client()

    missing = client.get("/api/v1/orders")
    wrong = client.get("/api/v1/orders", headers={"Authorization": "Bearer kvn_00000000_nope"})
    ApiToken.objects.update(is_active=False)
    revoked = erp.get("/orders")

    for response in (missing, wrong, revoked):
        assert response.status_code == 401
        assert response.json()["code"] == "unauthorized"


def test_a_token_without_the_scope_is_forbidden(erp_client):
    erp = erp_client(["catalog:read"])

    response = erp.post("/stock", {"rows": [{"sku": "X", "pool": "istanbul", "quantity": 1}]})

    assert response.status_code == 403
    assert response.json() == {
        "code": "missing_scope",
        "message": "This token lacks the scope stock:write.",
    }
    assert erp.get("/products").status_code == 200


def test_each_token_is_rate_limited_with_retry_after(erp_client, settings):
    settings.ERP_API_RATE = 0.5
    settings.ERP_API_BURST = 3
    erp, other = erp_client(["orders:read"]), erp_client(["orders:read"], name="other")

    answers = [erp.get("/orders").status_code for _ in range(4)]
    limited = erp.get("/orders")

    assert answers == [200, 200, 200, 429]
    assert limited.status_code == 429
    assert limited.json()["code"] == "rate_limited"
    assert 1 <= int(limited["Retry-After"]) <= 2
    assert other.get("/orders").status_code == 200  # a bucket per token


def test_the_openapi_document_is_served(client):
    response = client.get("/api/v1/openapi.json")

    assert response.status_code == 200
    document = response.json()
    assert "/api/v1/prices" in document["paths"]
    assert "X-Kervan-Signature" in document["info"]["description"]
