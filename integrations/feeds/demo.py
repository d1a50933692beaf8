"""Demo feeds: Google, Meta and partner feeds for each active market in its default
language, and the demo's top categories mapped to Google's product taxonomy."""

from __future__ import annotations

from django.db import transaction

from catalog.models import Category
from integrations.feeds.models import FeedConfig, FeedFormat, GoogleCategory
from shop.models import Market

# Demo category code → Google product taxonomy ID (and its path, for the admin).
DEMO_GOOGLE_CATEGORIES = {
    "clothing": (1604, "Apparel & Accessories > Clothing"),
    "tops": (212, "Apparel & Accessories > Clothing > Shirts & Tops"),
    "accessories": (166, "Apparel & Accessories"),
    "home": (536, "Home & Garden"),
    "kitchen": (638, "Home & Garden > Kitchen & Dining"),
}


@transaction.atomic
def feeds_demo_setup() -> list[FeedConfig]:
    """Create the demo feeds and Google category mappings (idempotent); the feeds.

    Feeds already there keep their settings (token, active). Run after the
    markets and the category tree exist; the hourly beat job builds them.
    """
    categories = {c.code: c for c in Category.objects.filter(code__in=DEMO_GOOGLE_CATEGORIES)}
    for code, (google_id, google_path) in DEMO_GOOGLE_CATEGORIES.items():
        if code in categories:
            GoogleCategory.objects.update_or_create(
                category=categories[code],
                defaults={"google_id": google_id, "google_path": google_path},
            )
    feeds = []
    for market in Market.objects.filter(is_active=True).order_by("position", "pk"):
        for feed_format in FeedFormat:
            config, _created = FeedConfig.objects.get_or_create(
                market=market, language=market.default_language, format=feed_format
            )
            feeds.append(config)
    return feeds
