"""Tokens and a client for the ERP API tests."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client

from integrations.erp.models import Scope
from integrations.erp.tokens import api_token_create
from integrations.ratelimit import bucket_reset

ALL_SCOPES = list(Scope.values)


class ErpClient:
    """A Django test client that sends the token and JSON bodies."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.client = Client()

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(
            f"/api/v1{path}", params, headers={"Authorization": f"Bearer {self.token}"}
        )

    def post(self, path: str, body: Any, *, key: str | None = None) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"}
        if key is not None:
            headers["Idempotency-Key"] = key
        return self.client.post(
            f"/api/v1{path}", json.dumps(body), content_type="application/json", headers=headers
        )


@pytest.fixture(autouse=True)
def _erp_settings(settings: Any) -> None:
    """No feed lag (orders placed in the test are seen at once), a roomy rate limit."""
    settings.ERP_ORDER_FEED_LAG_SECONDS = 0
    settings.ERP_API_RATE = 1000.0
    settings.ERP_API_BURST = 1000


@pytest.fixture
def erp_client(db: None) -> Iterator[Callable[..., ErpClient]]:
    """``erp_client(scopes)``: a client with a new token holding ``scopes`` (all by default)."""
    made: list[int] = []

    def make(scopes: list[str] | None = None, name: str = "ERP") -> ErpClient:
        row, token = api_token_create(name=name, scopes=scopes or ALL_SCOPES)
        made.append(row.pk)
        bucket_reset(f"erp-api:{row.pk}")
        return ErpClient(token)

    yield make
    for pk in made:
        bucket_reset(f"erp-api:{pk}")
