"""Fixtures of the shipping tests: the demo markets with the demo shipping data."""

from __future__ import annotations

import pytest

from shipping.demo import shipping_demo_setup


@pytest.fixture
def shipping_demo(db: None) -> None:
    """Delivery regions, methods, rates and duty rules of the demo shop."""
    shipping_demo_setup()
