"""Feeds in the admin: configuration with its build history and diagnostics, a
"Build now" action, and the mapping of categories to Google's taxonomy."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from integrations.feeds.models import FeedBuild, FeedConfig, GoogleCategory
from integrations.feeds.services import feeds_delete
from integrations.feeds.tasks import feed_build
from integrations.feeds.writers import NOTES, SKIP_REASONS
from shop.admin_mixins import ReadOnlyAdmin, ReadOnlyInline


def _counts(counts: dict[str, int], labels: dict[str, Any], samples: dict[str, list[str]]) -> str:
    """ "no image: 12 (KRV-A, KRV-B…)" lines, most frequent first."""
    if not counts:
        return "–"
    rows = sorted(counts.items(), key=lambda row: (-row[1], row[0]))
    return format_html_join(
        "",
        "<div>{}: <strong>{}</strong> <small>{}</small></div>",
        ((labels.get(key, key), count, ", ".join(samples.get(key, [])[:5])) for key, count in rows),
    )


class FeedBuildInline(ReadOnlyInline):
    model = FeedBuild
    fields = [
        "started_at",
        "state",
        "seconds",
        "items_written",
        "items_skipped",
        "skipped",
        "file_size",
        "error",
    ]
    readonly_fields = ["seconds", "skipped"]
    ordering = ["-started_at", "-id"]
    verbose_name_plural = _("build history")

    def get_queryset(self, request: HttpRequest) -> QuerySet[FeedBuild]:
        return super().get_queryset(request).order_by("-started_at", "-id")

    @admin.display(description=_("skipped, by reason"))
    def skipped(self, build: FeedBuild) -> str:
        return _counts(build.skipped_reasons, SKIP_REASONS, build.samples)

    @admin.display(description=_("seconds"))
    def seconds(self, build: FeedBuild) -> float | None:
        return build.seconds


@admin.register(FeedConfig)
class FeedConfigAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = [
        "__str__",
        "market",
        "language",
        "format",
        "is_active",
        "protected",
        "built_at",
        "items",
        "feed_link",
    ]
    list_filter = ["format", "is_active", "market"]
    list_select_related = ["market", "current_build"]
    readonly_fields = ["feed_link", "current_build", "diagnostics"]
    fields = [
        "market",
        "language",
        "format",
        "country",
        "is_active",
        "access_token",
        "feed_link",
        "current_build",
        "diagnostics",
    ]
    inlines = [FeedBuildInline]
    actions = ["build_now"]

    @admin.display(description=_("token"), boolean=True)
    def protected(self, config: FeedConfig) -> bool:
        return bool(config.access_token)

    @admin.display(description=_("built"))
    def built_at(self, config: FeedConfig) -> Any:
        build = config.current_build
        return build.finished_at if build is not None else "–"

    @admin.display(description=_("items"))
    def items(self, config: FeedConfig) -> str:
        build = config.current_build
        if build is None:
            return "–"
        return f"{build.items_written} (+{build.items_skipped} skipped)"

    @admin.display(description=_("feed URL"))
    def feed_link(self, config: FeedConfig) -> str:
        if config.pk is None:
            return "–"
        url = settings.SITE_URL.rstrip("/") + config.path
        if config.access_token:
            url += "?token=" + config.access_token
        return format_html('<a href="{}">{}</a>', url, config.path)

    @admin.display(description=_("latest file"))
    def diagnostics(self, config: FeedConfig) -> str:
        build = config.current_build
        if build is None:
            return str(_("Not built yet."))
        return format_html(
            "<div>{}</div><div><em>{}</em></div>{}<div><em>{}</em></div>{}",
            _("%(written)s items written of %(products)s products, %(size)s bytes")
            % {
                "written": build.items_written,
                "products": build.products_total,
                "size": build.file_size,
            },
            _("Skipped"),
            _counts(build.skipped_reasons, SKIP_REASONS, build.samples),
            _("Written with a fallback"),
            _counts(build.notes, NOTES, build.samples),
        )

    def delete_model(self, request: HttpRequest, obj: FeedConfig) -> None:
        feeds_delete(FeedConfig.objects.filter(pk=obj.pk))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[FeedConfig]) -> None:
        feeds_delete(queryset)

    @admin.action(description=_("Build now"))
    def build_now(self, request: HttpRequest, queryset: QuerySet[FeedConfig]) -> None:
        count = 0
        for config_id in queryset.order_by("pk").values_list("pk", flat=True):
            feed_build.delay(config_id)
            count += 1
        self.message_user(
            request,
            ngettext(
                "%d feed queued for building; its history shows the result.",
                "%d feeds queued for building; their history shows the results.",
                count,
            )
            % count,
            messages.SUCCESS,
        )


@admin.register(FeedBuild)
class FeedBuildAdmin(ReadOnlyAdmin):
    list_display = [
        "feed",
        "started_at",
        "state",
        "items_written",
        "items_skipped",
        "skipped",
        "file_size",
    ]
    list_filter = ["state", "feed__format", "feed__market"]
    list_select_related = ["feed__market"]
    date_hierarchy = "started_at"

    @admin.display(description=_("skipped, by reason"))
    def skipped(self, build: FeedBuild) -> str:
        return _counts(build.skipped_reasons, SKIP_REASONS, build.samples)


@admin.register(GoogleCategory)
class GoogleCategoryAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["category", "google_id", "google_path"]
    search_fields = ["category__code", "google_path"]
    autocomplete_fields = ["category"]
