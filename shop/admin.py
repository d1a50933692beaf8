"""Admin for markets, geography, customer groups and customers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from shop import versions
from shop.admin_mixins import ReadOnlyAdmin, RetiresCachesAdmin
from shop.models import (
    Address,
    Country,
    Customer,
    CustomerGroup,
    Market,
    MarketCountry,
    Region,
    Seller,
    TaskRun,
)
from shop.selectors import markets_changed
from shop.task_runs import schedule_rows


class MarketCountryFormSet(BaseInlineFormSet):
    """Explains, before the database refuses it, why a market's countries clash."""

    def clean(self) -> None:
        super().clean()
        market: Market = self.instance
        countries = [
            form.cleaned_data["country"]
            for form in self.forms
            if form.cleaned_data.get("country") and not form.cleaned_data.get("DELETE")
        ]
        if market.default_country_id and market.default_country_id not in {c.pk for c in countries}:
            raise ValidationError(_("The default country must be one of the countries served."))
        if not market.is_active:
            return
        clashes = (
            MarketCountry.objects.filter(country__in=countries, is_market_active=True)
            .exclude(market_id=market.pk)
            .select_related("country", "market")
        )
        if clashes:
            raise ValidationError(
                [
                    _("%(country)s is already served by the active market %(market)s.")
                    % {"country": link.country.name, "market": link.market.name}
                    for link in clashes
                ]
            )


class MarketCountryInline(admin.TabularInline):
    model = MarketCountry
    formset = MarketCountryFormSet
    extra = 1
    autocomplete_fields = ["country"]
    verbose_name = _("country served")


@admin.register(Market)
class MarketAdmin(RetiresCachesAdmin):
    list_display = [
        "name",
        "code",
        "currency",
        "default_language",
        "seller",
        "country_list",
        "prices_include_tax",
        "is_active",
        "is_default",
    ]
    list_filter = ["is_active", "prices_include_tax", "currency"]
    search_fields = ["name", "code"]
    autocomplete_fields = ["default_country", "seller", "dealer_group"]
    list_select_related = ["seller"]
    inlines = [MarketCountryInline]
    fieldsets = [
        (None, {"fields": ["name", "code", "position", "is_active", "is_default", "seller"]}),
        (
            _("Money and language"),
            {"fields": ["currency", "prices_include_tax", "default_language", "other_languages"]},
        ),
        (_("Countries"), {"fields": ["default_country"]}),
        (_("Dealers"), {"fields": ["dealer_group"]}),
    ]

    def caches_retire(self, objects: Sequence[Any]) -> None:
        markets_changed()

    def get_queryset(self, request: HttpRequest):  # type: ignore[no-untyped-def]
        return super().get_queryset(request).prefetch_related("country_links")

    @admin.display(description=_("countries"))
    def country_list(self, market: Market) -> str:
        return ", ".join(sorted(link.country_id for link in market.country_links.all()))


@admin.register(Seller)
class SellerAdmin(RetiresCachesAdmin):
    list_display = ["legal_name", "code", "country", "vat_number", "oss_registered", "ioss_number"]
    list_filter = ["country", "oss_registered"]
    search_fields = ["legal_name", "code", "vat_number", "tax_number"]
    autocomplete_fields = ["country"]
    prepopulated_fields = {"code": ["legal_name"]}
    fieldsets = [
        (None, {"fields": ["legal_name", "code", "logo"]}),
        (_("Address"), {"fields": ["line1", "line2", "postal_code", "city", "country"]}),
        (
            _("Tax"),
            {"fields": ["vat_number", "tax_number", "tax_office", "oss_registered", "ioss_number"]},
        ),
        (_("Contact and bank"), {"fields": ["email", "phone", "bank_name", "iban", "bic"]}),
    ]

    def caches_retire(self, objects: Sequence[Any]) -> None:
        markets_changed()


def geography_changed() -> None:
    """Countries and regions are read by market pages, the address check and shipping
    zones (shipping), and regional tax rates (pricing): retire all of them."""
    markets_changed()
    versions.retire(versions.SHIPPING, versions.PRICING)


@admin.register(Country)
class CountryAdmin(RetiresCachesAdmin):
    """Postal-code and region rules are read by checkout's address check (cached)."""

    list_display = [
        "name",
        "code",
        "requires_postal_code",
        "postal_code_example",
        "uses_regions",
        "requires_region",
    ]
    list_editable = ["requires_postal_code", "uses_regions", "requires_region"]
    list_filter = ["requires_postal_code", "uses_regions", "requires_region"]
    search_fields = ["name", "code", "alpha3"]
    readonly_fields = ["code", "alpha3"]

    def caches_retire(self, objects: Sequence[Any]) -> None:
        geography_changed()


@admin.register(Region)
class RegionAdmin(RetiresCachesAdmin):
    list_display = ["name", "code", "country", "kind", "is_active"]
    list_editable = ["is_active"]
    list_filter = ["is_active", "country", "kind"]
    search_fields = ["name", "code"]
    list_select_related = ["country"]
    autocomplete_fields = ["country", "parent"]
    actions = ["activate", "deactivate"]

    def caches_retire(self, objects: Sequence[Any]) -> None:
        geography_changed()

    @admin.action(description=_("Switch selected regions on"))
    def activate(self, request: HttpRequest, queryset) -> None:  # type: ignore[no-untyped-def]
        count = queryset.update(is_active=True)
        geography_changed()
        message = ngettext("%d region switched on.", "%d regions switched on.", count)
        self.message_user(request, message % count, messages.SUCCESS)

    @admin.action(description=_("Switch selected regions off"))
    def deactivate(self, request: HttpRequest, queryset) -> None:  # type: ignore[no-untyped-def]
        count = queryset.update(is_active=False)
        geography_changed()
        message = ngettext("%d region switched off.", "%d regions switched off.", count)
        self.message_user(request, message % count, messages.SUCCESS)


@admin.register(CustomerGroup)
class CustomerGroupAdmin(admin.ModelAdmin):
    list_display = ["name", "code"]
    search_fields = ["name", "code"]


class AddressInline(admin.StackedInline):
    model = Address
    extra = 0
    autocomplete_fields = ["country", "region"]


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["user", "email", "group", "company_name", "created_at"]
    list_filter = ["group"]
    search_fields = [
        "user__email",
        "user__username",
        "user__first_name",
        "user__last_name",
        "company_name",
    ]
    list_select_related = ["user", "group"]
    autocomplete_fields = ["user"]
    inlines = [AddressInline]

    @admin.display(description=_("email"), ordering="user__email")
    def email(self, customer: Customer) -> str:
        return customer.user.email


class CustomerInline(admin.StackedInline):
    model = Customer
    can_delete = False
    extra = 0


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class ShopUserAdmin(UserAdmin):
    inlines = [CustomerInline]


admin.site.site_header = _("Kervan administration")
admin.site.site_title = _("Kervan")
admin.site.index_title = _("Shop administration")


@admin.register(TaskRun)
class TaskRunAdmin(ReadOnlyAdmin):
    """The task run log: did last night's feed build run, how long did it take,
    what went wrong. Above the list: each scheduled task with its last run."""

    list_display = ["task", "state_shown", "started_at", "duration", "progress", "outcome"]
    # No filter column, so the runs get the page's width: the schedule links each
    # task's runs (?task_name=…) and the template links each state (?state=…).
    search_fields = ["task_name", "task_id", "error", "result"]
    list_per_page = 50
    fields = readonly_fields = (
        "task_name",
        "task_id",
        "state",
        "started_at",
        "finished_at",
        "duration",
        "progress",
        "result",
        "error",
        "worker",
    )

    @admin.display(description=_("task"), ordering="task_name")
    def task(self, run: TaskRun) -> str:
        """``app.tasks.name`` reads as ``name (app)``; the full name is the tooltip."""
        module, _dot, name = run.task_name.rpartition(".")
        app = module.removesuffix(".tasks").rpartition(".")[2]
        return format_html('<span title="{}">{} ({})</span>', run.task_name, name, app)

    @admin.display(description=_("state"), ordering="state")
    def state_shown(self, run: TaskRun) -> str:
        return format_html(
            '<span class="task-state task-state-{}">{}</span>', run.state, run.get_state_display()
        )

    @admin.display(description=_("duration"))
    def duration(self, run: TaskRun) -> str:
        seconds = run.seconds
        if seconds is None:
            return "…" if run.state == TaskRun.State.RUNNING else "—"
        if seconds < 60:
            return _("%(seconds).1f s") % {"seconds": seconds}
        return _("%(minutes)d min %(seconds)d s") % {
            "minutes": seconds // 60,
            "seconds": seconds % 60,
        }

    @admin.display(description=_("progress"))
    def progress(self, run: TaskRun) -> str:
        if run.percent is None:
            return "—"
        return format_html(
            '<progress value="{}" max="{}" title="{} / {}" aria-label="{}"></progress> {} %',
            run.done,
            run.total,
            run.done,
            run.total,
            _("Progress"),
            run.percent,
        )

    @admin.display(description=_("result or error"))
    def outcome(self, run: TaskRun) -> str:
        text = run.error.partition("\n")[0] if run.error else run.result
        if len(text) <= 60:
            return text
        return format_html('<span title="{}">{}…</span>', text[:1000], text[:59])

    def get_urls(self) -> list[URLPattern]:
        run_now = self.admin_site.admin_view(require_POST(self.run_now_view))
        return [
            path("run/<str:entry>/", run_now, name="shop_taskrun_run"),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        context = {
            "schedule": schedule_rows(),
            "states": TaskRun.State.choices,
            "state_shown": request.GET.get("state", ""),
            "can_run": request.user.is_superuser,
            # Refresh while something runs, so progress bars move without a click.
            "refresh": TaskRun.objects.filter(state=TaskRun.State.RUNNING).exists(),
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra_context=context)

    def run_now_view(self, request: HttpRequest, entry: str) -> HttpResponse:
        """Send a scheduled task to the workers now (superusers only)."""
        from shop.celery import app as celery_app

        if not request.user.is_superuser:
            raise PermissionDenied
        task = next((row["task"] for row in schedule_rows() if row["name"] == entry), None)
        if task is None:
            messages.error(request, _("There is no scheduled task %(name)s.") % {"name": entry})
        else:
            celery_app.send_task(task)
            messages.success(
                request,
                _("%(name)s was sent to the workers; its run appears below when it starts.")
                % {"name": entry},
            )
        return HttpResponseRedirect(reverse("admin:shop_taskrun_changelist"))
