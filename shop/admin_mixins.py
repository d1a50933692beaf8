"""Admin screens whose saves change what the storefront shows."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest


class RetiresCachesAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Calls ``caches_retire`` after every save and delete made through this screen.

    Each app's admin says which caches its changes retire by calling its own
    service (``catalog.services.catalogue_changed``, …): the invalidation is
    explicit, and rows written elsewhere (imports, commands) call the same
    services.
    """

    def caches_retire(self, request: HttpRequest) -> None:
        raise NotImplementedError

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        self.caches_retire(request)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        self.caches_retire(request)

    def delete_model(self, request: HttpRequest, obj: Model) -> None:
        super().delete_model(request, obj)
        self.caches_retire(request)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        super().delete_queryset(request, queryset)
        self.caches_retire(request)
