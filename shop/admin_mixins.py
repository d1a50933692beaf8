"""Admin screens whose saves change what the storefront shows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest


class RetiresCachesAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Calls ``caches_retire`` for every save and delete made through this screen.

    Retiring takes effect when the transaction commits, so it may be asked
    before a delete (while the rows can still be read).

    Each app's admin says which caches its changes retire by calling its own
    service (``catalog.services.catalogue_changed``, …): the invalidation is
    explicit, and rows written elsewhere (imports, commands) call the same
    services.
    """

    def caches_retire(self, objects: Sequence[Any]) -> None:
        """Retire what ``objects`` (saved or deleted rows of this model) were shown in."""
        raise NotImplementedError

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        self.caches_retire([obj])

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        self.caches_retire([form.instance])

    def delete_model(self, request: HttpRequest, obj: Model) -> None:
        self.caches_retire([obj])
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self.caches_retire(list(queryset))
        super().delete_queryset(request, queryset)


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Rows written by services only (reservations, outbox and provider events, sent
    e-mails): the admin lists and shows them, never adds, edits or deletes."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):  # type: ignore[type-arg]
    """Rows of a document shown on its page as they were written, never edited there."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return (*(self.fields or ()), *self.readonly_fields)  # type: ignore[misc]
