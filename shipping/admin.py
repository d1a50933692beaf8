"""Admin for delivery regions, shipping methods and rates, customs areas and duty rules."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from shipping.models import (
    CustomsArea,
    CustomsAreaCountry,
    DeliveryCity,
    DeliveryCountry,
    DeliveryDistrict,
    DeliveryRegion,
    DutyChapterRate,
    DutyRule,
    PostalCodeRule,
    ShippingMethod,
    ShippingRate,
    ShippingRateBracket,
    ShippingZone,
)
from shipping.selectors import shipping_config_changed
from shipping.services import delivery_country_set
from shop.admin_mixins import RetiresCachesAdmin


class ShippingConfigAdmin(RetiresCachesAdmin):
    """Every change made here is read by the address check, shipping options or duty."""

    def caches_retire(self, objects: Sequence[Any]) -> None:
        shipping_config_changed()


class SwitchActionsMixin:
    """ "Deliver" / "do not deliver" actions for rows with ``is_enabled``."""

    actions: Any = ["enable", "disable"]

    def _switch(self, request: HttpRequest, queryset: QuerySet[Any], enabled: bool) -> None:
        count = queryset.update(is_enabled=enabled)
        shipping_config_changed()
        self.message_user(  # type: ignore[attr-defined]
            request,
            ngettext("%(count)d row switched.", "%(count)d rows switched.", count)
            % {"count": count},
            messages.SUCCESS,
        )

    @admin.action(description=_("Deliver to the selected"))
    def enable(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._switch(request, queryset, True)

    @admin.action(description=_("Do not deliver to the selected"))
    def disable(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._switch(request, queryset, False)


class PostalCodeRuleInline(admin.TabularInline):
    model = PostalCodeRule
    extra = 1
    fields = ["action", "kind", "value", "range_start", "range_end", "note"]


@admin.register(PostalCodeRule)
class PostalCodeRuleAdmin(ShippingConfigAdmin):
    list_display = ["__str__", "country", "action", "kind", "note"]
    list_filter = ["action", "kind", "country"]
    search_fields = ["value", "range_start", "range_end", "country__name", "note"]
    autocomplete_fields = ["country"]


@admin.register(DeliveryCountry)
class DeliveryCountryAdmin(SwitchActionsMixin, ShippingConfigAdmin):
    """The countries the shop delivers to, at a glance: switch, regions, cities, postal rules."""

    list_display = [
        "country",
        "code",
        "is_enabled",
        "regions_delivered",
        "cities_switched_off",
        "postal_code_rule_count",
    ]
    list_editable = ["is_enabled"]
    list_filter = ["is_enabled"]
    search_fields = ["country__name", "country__code"]
    autocomplete_fields = ["country"]
    actions = [*SwitchActionsMixin.actions, "list_regions"]
    inlines = [PostalCodeRuleInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[DeliveryCountry]:
        return (
            super()
            .get_queryset(request)
            .select_related("country")
            .annotate(
                region_count=Count("country__regions", distinct=True),
                region_off_count=Count(
                    "country__regions",
                    filter=Q(country__regions__delivery__is_enabled=False),
                    distinct=True,
                ),
                rule_count=Count("postal_code_rules", distinct=True),
                city_off_count=Subquery(
                    DeliveryCity.objects.filter(country_id=OuterRef("pk"), is_enabled=False)
                    .values("country_id")
                    .annotate(total=Count("pk"))
                    .values("total")
                ),
            )
        )

    @admin.display(description=_("code"), ordering="country__code")
    def code(self, delivery: DeliveryCountry) -> str:
        return delivery.country_id

    @admin.display(description=_("regions delivered"))
    def regions_delivered(self, delivery: Any) -> str:
        if not delivery.region_count:
            return "–"
        return _("%(on)d of %(all)d") % {
            "on": delivery.region_count - delivery.region_off_count,
            "all": delivery.region_count,
        }

    @admin.display(description=_("cities switched off"))
    def cities_switched_off(self, delivery: Any) -> int:
        return int(delivery.city_off_count or 0)

    @admin.display(description=_("postal code rules"))
    def postal_code_rule_count(self, delivery: Any) -> int:
        return int(delivery.rule_count)

    @admin.action(description=_("List the selected countries' regions for switching"))
    def list_regions(self, request: HttpRequest, queryset: QuerySet[DeliveryCountry]) -> None:
        for delivery in queryset:
            delivery_country_set(country=delivery.country_id, is_enabled=delivery.is_enabled)
        self.message_user(request, _("Regions listed."), messages.SUCCESS)


class DeliveryCountryFilter(admin.SimpleListFilter):
    title = _("country")
    parameter_name = "country"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            (delivery.country_id, delivery.country.name)
            for delivery in DeliveryCountry.objects.select_related("country")
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value():
            return queryset.filter(region__country_id=self.value())
        return queryset


@admin.register(DeliveryRegion)
class DeliveryRegionAdmin(SwitchActionsMixin, ShippingConfigAdmin):
    list_display = ["region", "code", "country", "is_enabled"]
    list_editable = ["is_enabled"]
    list_filter = ["is_enabled", DeliveryCountryFilter]
    search_fields = ["region__name", "region__code"]
    list_select_related = ["region__country"]
    autocomplete_fields = ["region"]

    @admin.display(description=_("code"), ordering="region__code")
    def code(self, delivery: DeliveryRegion) -> str:
        return delivery.region.code

    @admin.display(description=_("country"), ordering="region__country__name")
    def country(self, delivery: DeliveryRegion) -> str:
        return delivery.region.country.name


class DeliveryDistrictInline(admin.TabularInline):
    model = DeliveryDistrict
    extra = 3
    fields = ["name", "is_enabled"]


@admin.register(DeliveryCity)
class DeliveryCityAdmin(SwitchActionsMixin, ShippingConfigAdmin):
    list_display = ["name", "region", "country", "is_enabled", "districts_delivered"]
    list_editable = ["is_enabled"]
    list_filter = ["is_enabled", "country"]
    search_fields = ["name", "region__name", "districts__name"]
    list_select_related = ["region", "country"]
    autocomplete_fields = ["country", "region"]
    inlines = [DeliveryDistrictInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[DeliveryCity]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                district_count=Count("districts", distinct=True),
                district_on_count=Count(
                    "districts", filter=Q(districts__is_enabled=True), distinct=True
                ),
            )
        )

    @admin.display(description=_("districts delivered"))
    def districts_delivered(self, city: Any) -> str:
        if not city.district_count:
            return "–"
        return _("%(on)d of %(all)d") % {"on": city.district_on_count, "all": city.district_count}


# --- Methods and rates -------------------------------------------------------------------------


class ShippingZoneInline(admin.StackedInline):
    model = ShippingZone
    extra = 0
    fields = ["name", "countries", "regions"]
    autocomplete_fields = ["countries", "regions"]
    show_change_link = True


@admin.register(ShippingMethod)
class ShippingMethodAdmin(ShippingConfigAdmin):
    list_display = ["code", "carrier", "display_name", "days", "is_active", "position"]
    list_editable = ["is_active", "position"]
    list_filter = ["is_active", "carrier"]
    search_fields = ["code", "carrier", "names"]
    inlines = [ShippingZoneInline]
    fields = [
        "code",
        "carrier",
        "names",
        ("days_min", "days_max"),
        "tracking_url_pattern",
        "is_active",
        "position",
    ]

    @admin.display(description=_("name"))
    def display_name(self, method: ShippingMethod) -> str:
        return method.name()

    @admin.display(description=_("delivery days"))
    def days(self, method: ShippingMethod) -> str:
        return f"{method.days_min}–{method.days_max}"


class BracketFormSet(BaseInlineFormSet):
    """A bracket rate needs brackets; a flat rate takes none."""

    def clean(self) -> None:
        super().clean()
        rate: ShippingRate = self.instance
        kept = [
            form.cleaned_data
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        if rate.basis == ShippingRate.Basis.FLAT and kept:
            raise ValidationError(_("A flat rate takes no brackets; choose a basis for them."))
        if rate.basis != ShippingRate.Basis.FLAT and not kept:
            raise ValidationError(_("A weight or order-value rate needs at least one bracket."))
        limits = [data.get("up_to") for data in kept]
        if len(set(limits)) != len(limits):
            raise ValidationError(_("Two brackets of this rate end at the same value."))


class ShippingRateBracketInline(admin.TabularInline):
    model = ShippingRateBracket
    formset = BracketFormSet
    extra = 2
    fields = ["up_to", "amount"]


@admin.register(ShippingRate)
class ShippingRateAdmin(ShippingConfigAdmin):
    list_display = [
        "method",
        "zone_name",
        "currency",
        "basis",
        "amount",
        "bracket_list",
        "free_above",
        "max_weight_grams",
        "includes_tax",
    ]
    list_filter = ["currency", "basis", "zone__method"]
    search_fields = ["zone__name", "zone__method__code", "zone__method__carrier"]
    list_select_related = ["zone__method"]
    autocomplete_fields = ["zone"]
    inlines = [ShippingRateBracketInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ShippingRate]:
        return super().get_queryset(request).prefetch_related("brackets")

    @admin.display(description=_("method"), ordering="zone__method__code")
    def method(self, rate: ShippingRate) -> str:
        return rate.zone.method.code

    @admin.display(description=_("zone"), ordering="zone__name")
    def zone_name(self, rate: ShippingRate) -> str:
        return rate.zone.name

    @admin.display(description=_("brackets"))
    def bracket_list(self, rate: ShippingRate) -> str:
        return "; ".join(str(bracket) for bracket in rate.brackets.all()) or "–"


@admin.register(ShippingZone)
class ShippingZoneAdmin(ShippingConfigAdmin):
    list_display = ["name", "method", "country_list", "region_count"]
    list_filter = ["method"]
    search_fields = ["name", "method__code", "countries__code", "regions__code"]
    autocomplete_fields = ["method", "countries", "regions"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ShippingZone]:
        return (
            super()
            .get_queryset(request)
            .select_related("method")
            .prefetch_related("countries")
            .annotate(region_total=Count("regions", distinct=True))
        )

    @admin.display(description=_("countries"))
    def country_list(self, zone: ShippingZone) -> str:
        return ", ".join(sorted(country.code for country in zone.countries.all())) or "–"

    @admin.display(description=_("regions"))
    def region_count(self, zone: Any) -> int:
        return int(zone.region_total)


# --- Customs -----------------------------------------------------------------------------------


class CustomsAreaCountryInline(admin.TabularInline):
    model = CustomsAreaCountry
    extra = 1
    autocomplete_fields = ["country"]


@admin.register(CustomsArea)
class CustomsAreaAdmin(ShippingConfigAdmin):
    list_display = ["name", "code", "member_list"]
    search_fields = ["name", "code"]
    inlines = [CustomsAreaCountryInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[CustomsArea]:
        return super().get_queryset(request).prefetch_related("members")

    @admin.display(description=_("countries"))
    def member_list(self, area: CustomsArea) -> str:
        return ", ".join(sorted(member.country_id for member in area.members.all()))


class DutyChapterRateInline(admin.TabularInline):
    model = DutyChapterRate
    extra = 1


@admin.register(DutyRule)
class DutyRuleAdmin(ShippingConfigAdmin):
    list_display = [
        "name",
        "area",
        "mode",
        "valid_from",
        "valid_to",
        "percentage",
        "flat_per_subheading",
        "threshold",
        "import_vat_at_checkout",
        "is_active",
        "position",
    ]
    list_filter = ["area", "mode", "is_active", "import_vat_at_checkout"]
    search_fields = ["name", "area__name"]
    list_select_related = ["area"]
    inlines = [DutyChapterRateInline]
    fieldsets = [
        (None, {"fields": ["area", "name", "position", "is_active", ("valid_from", "valid_to")]}),
        (
            _("Duty"),
            {
                "fields": [
                    "mode",
                    "percentage",
                    "percentage_includes_shipping",
                    ("flat_per_subheading", "flat_currency"),
                    "import_vat_at_checkout",
                ]
            },
        ),
        (
            _("Threshold"),
            {"fields": [("threshold_amount", "threshold_currency", "threshold_applies")]},
        ),
    ]

    @admin.display(description=_("threshold"))
    def threshold(self, rule: DutyRule) -> str:
        if rule.threshold_amount is None:
            return "–"
        sign = "≤" if rule.threshold_applies == DutyRule.ThresholdApplies.BELOW else ">"
        return f"{sign} {rule.threshold_amount} {rule.threshold_currency}"
