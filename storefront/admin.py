"""Admin screens that combine apps: registered here, above the apps they combine."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib import admin

from pricing.admin import MarketPriceListInline, MarketStockPoolInline
from pricing.selectors import pricing_config_changed
from shop.admin import MarketAdmin
from shop.admin_mixins import ReadOnlyAdmin
from shop.models import Market
from storefront.models import SentEmail


class StorefrontMarketAdmin(MarketAdmin):
    """The market page: its countries, and what it prices with and sells from."""

    inlines = [*MarketAdmin.inlines, MarketPriceListInline, MarketStockPoolInline]

    def caches_retire(self, objects: Sequence[Any]) -> None:
        super().caches_retire(objects)
        pricing_config_changed()


admin.site.unregister(Market)
admin.site.register(Market, StorefrontMarketAdmin)


@admin.register(SentEmail)
class SentEmailAdmin(ReadOnlyAdmin):
    """Which order e-mails went out, and when: for support ("did they get the mail?")."""

    list_display = ("sent_at", "kind", "to", "subject", "language", "order")
    list_filter = ("kind", "language")
    search_fields = ("to", "order__number", "subject")
    list_select_related = ("order",)
