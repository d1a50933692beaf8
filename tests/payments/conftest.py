"""Fixtures of the payment tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.payments.fake_stripe import (
    PUBLISHABLE_KEY,
    SECRET_KEY,
    WEBHOOK_SECRET,
    FakeStripe,
    fake_stripe_server,
)


@pytest.fixture
def stripe_fake(settings) -> Iterator[FakeStripe]:
    with fake_stripe_server() as fake:
        settings.STRIPE_SECRET_KEY = SECRET_KEY
        settings.STRIPE_PUBLISHABLE_KEY = PUBLISHABLE_KEY
        settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
        settings.STRIPE_API_BASE = fake.url
        settings.STRIPE_NETWORK_RETRIES = 0
        yield fake
