"""Kervan: the project package and the shop-wide core (markets, geography, customers)."""

from .celery import app as celery_app

__all__ = ["celery_app"]
