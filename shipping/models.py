"""Where the shop delivers, how and at what cost, and what customs adds on arrival."""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from shop.models import Country, Region, validate_currency_code

ZERO = Decimal(0)


def place_key(name: str) -> str:
    """A place name folded for comparison: "İstanbul", "ISTANBUL" and "istanbul" are one key.

    Case and accents are ignored and the Turkish dotless ı counts as i, so that
    shoppers typing without Turkish letters still match "Kadıköy".
    """
    decomposed = unicodedata.normalize("NFKD", name.strip().replace("ı", "i"))
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(plain.casefold().split())


def postal_code_key(postal_code: str) -> str:
    """Postal codes compare in upper case, without spaces or hyphens."""
    return re.sub(r"[\s-]", "", postal_code).upper()


# --- Delivery regions --------------------------------------------------------------------------


class DeliveryCountry(models.Model):
    """A country the shop may deliver to; without a row, or switched off, it is not served."""

    country = models.OneToOneField(
        Country,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="delivery",
        verbose_name=_("country"),
    )
    is_enabled = models.BooleanField(_("delivers"), default=True)

    class Meta:
        verbose_name = _("delivery country")
        verbose_name_plural = _("delivery countries")
        ordering = ["country__name"]

    def __str__(self) -> str:
        return str(self.country)


class DeliveryRegion(models.Model):
    """Switches a region (state, province…) of a delivery country on or off.

    A region without a row follows its country: the rows exist so that the
    merchant can see and switch every region in one list.
    """

    region = models.OneToOneField(
        Region,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="delivery",
        verbose_name=_("region"),
    )
    is_enabled = models.BooleanField(_("delivers"), default=True)

    class Meta:
        verbose_name = _("delivery region")
        verbose_name_plural = _("delivery regions")
        ordering = ["region__country__name", "region__name"]

    def __str__(self) -> str:
        return str(self.region)


class NamedPlace:
    """A place found by its name however it is typed: ``name_key`` ignores case and accents."""

    name: str
    name_key: str

    def save(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        self.name_key = place_key(self.name)
        super().save(*args, **kwargs)  # type: ignore[misc]

    def name_clean(self, missing: StrOrPromise) -> None:
        self.name = self.name.strip()
        self.name_key = place_key(self.name)
        if not self.name_key:
            raise ValidationError({"name": missing})


class DeliveryCity(NamedPlace, models.Model):
    """A city (for Türkiye: a province's city) switched on or off, with its districts."""

    country = models.ForeignKey(
        Country, on_delete=models.CASCADE, related_name="+", verbose_name=_("country")
    )
    region = models.ForeignKey(
        Region,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("region"),
    )
    name = models.CharField(_("name"), max_length=100)
    name_key = models.CharField(max_length=100, editable=False)
    is_enabled = models.BooleanField(_("delivers"), default=True)

    class Meta:
        verbose_name = _("delivery city")
        verbose_name_plural = _("delivery cities")
        ordering = ["country__name", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["country", "region", "name_key"],
                nulls_distinct=False,
                name="delivery_city_once_per_region",
                violation_error_message=_("This city is already listed for the region."),
            ),
            models.CheckConstraint(condition=~Q(name_key=""), name="delivery_city_has_name"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        self.name_clean(_("Enter the city's name."))
        if (
            self.region is not None
            and self.country_id
            and self.region.country_id != self.country_id
        ):
            raise ValidationError({"region": _("This region is not in the chosen country.")})


class DeliveryDistrict(NamedPlace, models.Model):
    """A district of a city (Türkiye: ilçe) switched on or off."""

    city = models.ForeignKey(
        DeliveryCity, on_delete=models.CASCADE, related_name="districts", verbose_name=_("city")
    )
    name = models.CharField(_("name"), max_length=100)
    name_key = models.CharField(max_length=100, editable=False)
    is_enabled = models.BooleanField(_("delivers"), default=True)

    class Meta:
        verbose_name = _("delivery district")
        verbose_name_plural = _("delivery districts")
        ordering = ["city", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["city", "name_key"],
                name="delivery_district_once_per_city",
                violation_error_message=_("This district is already listed for the city."),
            ),
            models.CheckConstraint(condition=~Q(name_key=""), name="delivery_district_has_name"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        self.name_clean(_("Enter the district's name."))


class PostalCodeRule(models.Model):
    """Includes or excludes postal codes of a country: one code, a prefix or a range.

    When a country has include rules, a postal code must match one of them;
    a code matching any exclude rule is refused, even if it is also included.
    """

    class Kind(models.TextChoices):
        EXACT = "exact", _("exact code")
        PREFIX = "prefix", _("prefix")
        RANGE = "range", _("range")

    class Action(models.TextChoices):
        INCLUDE = "include", _("deliver")
        EXCLUDE = "exclude", _("do not deliver")

    country = models.ForeignKey(
        DeliveryCountry,
        on_delete=models.CASCADE,
        related_name="postal_code_rules",
        verbose_name=_("country"),
    )
    action = models.CharField(
        _("action"), max_length=10, choices=Action.choices, default=Action.EXCLUDE
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.EXACT)
    value = models.CharField(
        _("code or prefix"),
        max_length=20,
        blank=True,
        help_text=_("For exact codes and prefixes."),
    )
    range_start = models.CharField(_("from"), max_length=20, blank=True)
    range_end = models.CharField(
        _("to"),
        max_length=20,
        blank=True,
        help_text=_("Inclusive; both ends have the same length (e.g. 10115 to 14199)."),
    )
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("postal code rule")
        verbose_name_plural = _("postal code rules")
        ordering = ["country", "action", "kind", "value", "range_start"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(kind="range", value="")
                    & ~Q(range_start="")
                    & ~Q(range_end="")
                    & Q(range_start__lte=F("range_end"))
                )
                | (
                    Q(kind__in=["exact", "prefix"]) & ~Q(value="") & Q(range_start="", range_end="")
                ),
                name="postal_code_rule_is_complete",
            ),
        ]

    def __str__(self) -> str:
        if self.kind == self.Kind.RANGE:
            return f"{self.get_action_display()} {self.range_start}–{self.range_end}"
        suffix = "…" if self.kind == self.Kind.PREFIX else ""
        return f"{self.get_action_display()} {self.value}{suffix}"

    def clean(self) -> None:
        self.value = postal_code_key(self.value)
        self.range_start = postal_code_key(self.range_start)
        self.range_end = postal_code_key(self.range_end)
        if self.kind == self.Kind.RANGE:
            if not self.range_start or not self.range_end:
                raise ValidationError(_("A range needs both ends."))
            if len(self.range_start) != len(self.range_end):
                raise ValidationError(
                    {"range_end": _("Both ends of a range must have the same length.")}
                )
            if self.range_start > self.range_end:
                raise ValidationError({"range_end": _("The range ends before it starts.")})
            self.value = ""
        else:
            if not self.value:
                raise ValidationError({"value": _("Enter a postal code or prefix.")})
            self.range_start = self.range_end = ""

    def matches(self, postal_code_normalized: str) -> bool:
        """True when the (already normalised) postal code falls under this rule."""
        code = postal_code_normalized
        if self.kind == self.Kind.EXACT:
            return code == self.value
        if self.kind == self.Kind.PREFIX:
            return code.startswith(self.value)
        return len(code) == len(self.range_start) and self.range_start <= code <= self.range_end


# --- Shipping methods and rates ----------------------------------------------------------------


def validate_tracking_url_pattern(value: str) -> None:
    if value and "{number}" not in value:
        raise ValidationError(
            _("The tracking link must contain {number} where the tracking number goes.")
        )
    if value and not value.startswith(("https://", "http://")):
        raise ValidationError(_("The tracking link must start with https:// or http://."))


def validate_names(value: object) -> None:
    languages = dict(settings.LANGUAGES)
    if not isinstance(value, dict) or not value:
        raise ValidationError(_('Enter the name per language, e.g. {"en": "Standard"}.'))
    for language, name in value.items():
        if language not in languages:
            raise ValidationError(
                _("%(language)s is not one of the shop's interface languages."),
                params={"language": language},
            )
        if not isinstance(name, str) or not name.strip():
            raise ValidationError(_("Every name must be a non-empty text."))


class ShippingMethod(models.Model):
    """A way to ship (carrier and service) with its delivery time and tracking link."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    carrier = models.CharField(_("carrier"), max_length=60)
    names = models.JSONField(
        _("name per language"),
        validators=[validate_names],
        help_text=_('Language code to name, e.g. {"en": "DHL Parcel", "de": "DHL Paket"}.'),
    )
    days_min = models.PositiveSmallIntegerField(_("delivery days from"), default=1)
    days_max = models.PositiveSmallIntegerField(_("delivery days to"), default=3)
    tracking_url_pattern = models.CharField(
        _("tracking link"),
        max_length=300,
        blank=True,
        validators=[validate_tracking_url_pattern],
        help_text=_("E.g. https://www.dhl.de/track?piececode={number}"),
    )
    is_active = models.BooleanField(_("active"), default=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("shipping method")
        verbose_name_plural = _("shipping methods")
        ordering = ["position", "code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(days_min__lte=F("days_max")),
                name="shipping_method_days_in_order",
                violation_error_message=_("Delivery days: 'from' must not exceed 'to'."),
            ),
            models.CheckConstraint(
                condition=Q(tracking_url_pattern="") | Q(tracking_url_pattern__contains="{number}"),
                name="shipping_method_tracking_has_number",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.carrier} – {self.name()}"

    def clean(self) -> None:
        if (
            self.days_min is not None
            and self.days_max is not None
            and self.days_min > self.days_max
        ):
            raise ValidationError({"days_max": _("Delivery days: 'from' must not exceed 'to'.")})

    def name(self, language: str = "") -> str:
        """The name in ``language``, else in the default language, else any."""
        names: dict[str, str] = self.names if isinstance(self.names, dict) else {}
        for candidate in (language, language.split("-")[0], settings.LANGUAGE_CODE):
            if candidate and names.get(candidate):
                return names[candidate]
        return next(iter(names.values()), self.code)


class ShippingZone(models.Model):
    """The countries and regions one shipping method serves at one set of rates.

    A zone listing a region is more specific than one listing the region's
    country: for an address in that region, the region's zone is used.
    """

    method = models.ForeignKey(
        ShippingMethod, on_delete=models.CASCADE, related_name="zones", verbose_name=_("method")
    )
    name = models.CharField(_("name"), max_length=100)
    countries = models.ManyToManyField(
        Country, blank=True, related_name="+", verbose_name=_("countries")
    )
    regions = models.ManyToManyField(
        Region, blank=True, related_name="+", verbose_name=_("regions")
    )

    class Meta:
        verbose_name = _("shipping zone")
        verbose_name_plural = _("shipping zones")
        ordering = ["method", "name"]
        constraints = [
            models.UniqueConstraint(fields=["method", "name"], name="shipping_zone_name_once"),
        ]

    def __str__(self) -> str:
        return f"{self.method.code}: {self.name}"


class ShippingRate(models.Model):
    """What a zone costs in one currency: flat, by weight or by order value.

    Brackets are "up to and including": the smallest bracket that holds the
    cart's weight (grams) or goods value is charged; a bracket without upper
    limit takes everything above. Above ``free_above`` (goods value) shipping
    is free. Amounts are shown like the market shows prices: with tax when
    ``includes_tax`` is set; the caller works out the tax inside.
    """

    class Basis(models.TextChoices):
        FLAT = "flat", _("flat")
        WEIGHT = "weight", _("by weight")
        ORDER_VALUE = "order_value", _("by order value")

    zone = models.ForeignKey(
        ShippingZone, on_delete=models.CASCADE, related_name="rates", verbose_name=_("zone")
    )
    currency = models.CharField(
        _("currency"), max_length=3, validators=[validate_currency_code], help_text="ISO 4217"
    )
    basis = models.CharField(_("basis"), max_length=12, choices=Basis.choices, default=Basis.FLAT)
    amount = models.DecimalField(
        _("flat amount"),
        max_digits=12,
        decimal_places=4,
        null=True,
        blank=True,
        validators=[MinValueValidator(ZERO)],
        help_text=_("For flat rates."),
    )
    free_above = models.DecimalField(
        _("free from order value"),
        max_digits=12,
        decimal_places=4,
        null=True,
        blank=True,
        validators=[MinValueValidator(ZERO)],
        help_text=_("Shipping is free when the goods value reaches this amount. Empty: never."),
    )
    max_weight_grams = models.PositiveIntegerField(
        _("maximum weight (g)"), null=True, blank=True, help_text=_("Empty: no limit.")
    )
    includes_tax = models.BooleanField(
        _("amounts include tax"),
        default=True,
        help_text=_("Shown like the market shows prices; tax is worked out of the amount."),
    )

    class Meta:
        verbose_name = _("shipping rate")
        verbose_name_plural = _("shipping rates")
        ordering = ["zone", "currency"]
        constraints = [
            models.UniqueConstraint(
                fields=["zone", "currency"],
                name="shipping_rate_one_per_zone_currency",
                violation_error_message=_("This zone already has a rate in this currency."),
            ),
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"), name="shipping_rate_currency_iso4217"
            ),
            models.CheckConstraint(
                condition=~Q(basis="flat") | Q(amount__gte=0),
                name="shipping_rate_flat_has_amount",
            ),
            models.CheckConstraint(
                condition=Q(amount__isnull=True) | Q(amount__gte=0),
                name="shipping_rate_amount_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(free_above__isnull=True) | Q(free_above__gte=0),
                name="shipping_rate_free_above_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(max_weight_grams__isnull=True) | Q(max_weight_grams__gt=0),
                name="shipping_rate_max_weight_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.zone} ({self.currency})"

    def clean(self) -> None:
        if self.currency:
            self.currency = self.currency.upper()
        if self.basis == self.Basis.FLAT and self.amount is None:
            raise ValidationError({"amount": _("A flat rate needs an amount.")})


class ShippingRateBracket(models.Model):
    """One step of a weight or order-value rate."""

    rate = models.ForeignKey(
        ShippingRate, on_delete=models.CASCADE, related_name="brackets", verbose_name=_("rate")
    )
    up_to = models.DecimalField(
        _("up to"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(ZERO)],
        help_text=_(
            "Inclusive: grams for weight rates, the goods value for order-value rates. "
            "Empty: no upper limit."
        ),
    )
    amount = models.DecimalField(
        _("amount"), max_digits=12, decimal_places=4, validators=[MinValueValidator(ZERO)]
    )

    class Meta:
        verbose_name = _("rate bracket")
        verbose_name_plural = _("rate brackets")
        ordering = ["rate", F("up_to").asc(nulls_last=True)]
        constraints = [
            models.UniqueConstraint(
                fields=["rate", "up_to"],
                nulls_distinct=False,
                name="shipping_rate_bracket_once",
                violation_error_message=_("Two brackets of this rate end at the same value."),
            ),
            models.CheckConstraint(
                condition=Q(amount__gte=0), name="shipping_rate_bracket_amount_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(up_to__isnull=True) | Q(up_to__gte=0),
                name="shipping_rate_bracket_up_to_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"≤ {self.up_to if self.up_to is not None else '∞'}: {self.amount}"


# --- Customs -----------------------------------------------------------------------------------


class CustomsArea(models.Model):
    """Countries with one customs border around them: the EU's customs union, or one country.

    Goods moving between two countries of one area cross no customs border;
    a country in no area is its own.
    """

    code = models.SlugField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        verbose_name = _("customs area")
        verbose_name_plural = _("customs areas")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CustomsAreaCountry(models.Model):
    area = models.ForeignKey(
        CustomsArea, on_delete=models.CASCADE, related_name="members", verbose_name=_("area")
    )
    country = models.OneToOneField(
        Country,
        on_delete=models.CASCADE,
        related_name="customs_area_link",
        verbose_name=_("country"),
        error_messages={"unique": _("This country already belongs to a customs area.")},
    )

    class Meta:
        verbose_name = _("member country")
        verbose_name_plural = _("member countries")
        ordering = ["country__name"]

    def __str__(self) -> str:
        return f"{self.area}: {self.country}"


def validate_hs_chapter(value: str) -> None:
    if not re.fullmatch(r"\d{2}", value or ""):
        raise ValidationError(_("An HS chapter has two digits, e.g. 61."))


class DutyRule(models.Model):
    """What customs charges on goods entering an area, and whether it is paid at checkout.

    Applies to the lines of an order that cross the area's border. Duty is a
    percentage of their goods value (per HS chapter where a chapter rate is
    given; optionally on their share of shipping too) plus a flat amount per
    distinct 6-digit tariff subheading. With a threshold the rule applies only
    to consignments up to it ("up to") or above it ("above"), their value
    converted to the threshold's currency. DDP: charged at checkout; DAP: the
    shopper is told that duties and import taxes are collected on delivery.
    Of the rules that apply, the lowest position wins.
    """

    class Mode(models.TextChoices):
        DDP = "ddp", _("DDP – charged at checkout")
        DAP = "dap", _("DAP – collected on delivery")

    class ThresholdApplies(models.TextChoices):
        BELOW = "below", _("up to the threshold")
        ABOVE = "above", _("above the threshold")

    area = models.ForeignKey(
        CustomsArea, on_delete=models.CASCADE, related_name="duty_rules", verbose_name=_("area")
    )
    name = models.CharField(_("name"), max_length=150)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"), null=True, blank=True, help_text=_("Inclusive."))
    mode = models.CharField(_("mode"), max_length=3, choices=Mode.choices, default=Mode.DDP)
    percentage = models.DecimalField(
        _("duty (percent of goods value)"),
        max_digits=6,
        decimal_places=3,
        default=ZERO,
        validators=[MinValueValidator(ZERO)],
    )
    percentage_includes_shipping = models.BooleanField(
        _("duty on shipping too"),
        default=False,
        help_text=_("The percentage also applies to the crossing goods' share of shipping."),
    )
    flat_per_subheading = models.DecimalField(
        _("flat amount per tariff subheading"),
        max_digits=12,
        decimal_places=4,
        default=ZERO,
        validators=[MinValueValidator(ZERO)],
        help_text=_("Charged once per distinct 6-digit HS code in the consignment."),
    )
    flat_currency = models.CharField(
        _("currency of the flat amount"),
        max_length=3,
        blank=True,
        validators=[validate_currency_code],
    )
    threshold_amount = models.DecimalField(
        _("threshold"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(ZERO)],
        help_text=_("Goods value of the consignment. Empty: the rule applies to any value."),
    )
    threshold_currency = models.CharField(
        _("threshold currency"), max_length=3, blank=True, validators=[validate_currency_code]
    )
    threshold_applies = models.CharField(
        _("applies"),
        max_length=5,
        choices=ThresholdApplies.choices,
        default=ThresholdApplies.BELOW,
    )
    import_vat_at_checkout = models.BooleanField(
        _("import VAT / sales tax at checkout"),
        default=False,
        help_text=_(
            "The destination's VAT or sales tax is charged at checkout on the crossing lines "
            "(EU IOSS, UK up to 135 GBP, US sales tax)."
        ),
    )

    class Meta:
        verbose_name = _("duty rule")
        verbose_name_plural = _("duty rules")
        ordering = ["area", "position", "-valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["area", "name"],
                name="duty_rule_name_once_per_area",
                violation_error_message=_("This area already has a rule of this name."),
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=F("valid_from")),
                name="duty_rule_valid_to_after_from",
                violation_error_message=_("The rule must not end before it starts."),
            ),
            models.CheckConstraint(
                condition=Q(percentage__gte=0, percentage__lte=1000)
                & Q(flat_per_subheading__gte=0),
                name="duty_rule_amounts_in_range",
            ),
            models.CheckConstraint(
                condition=Q(flat_per_subheading=0) | Q(flat_currency__regex=r"^[A-Z]{3}$"),
                name="duty_rule_flat_has_currency",
                violation_error_message=_("A flat amount needs its currency."),
            ),
            models.CheckConstraint(
                condition=Q(threshold_amount__isnull=True)
                | Q(threshold_currency__regex=r"^[A-Z]{3}$"),
                name="duty_rule_threshold_has_currency",
                violation_error_message=_("A threshold needs its currency."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        self.flat_currency = self.flat_currency.upper()
        self.threshold_currency = self.threshold_currency.upper()
        errors: dict[str, Any] = {}
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            errors["valid_to"] = _("The rule must not end before it starts.")
        if self.flat_per_subheading and not self.flat_currency:
            errors["flat_currency"] = _("A flat amount needs its currency.")
        if self.threshold_amount is not None and not self.threshold_currency:
            errors["threshold_currency"] = _("A threshold needs its currency.")
        if self.percentage is not None and self.percentage > 1000:
            errors["percentage"] = _("A duty above 1000 % is surely a typing error.")
        if errors:
            raise ValidationError(errors)

    @property
    def charges_duty(self) -> bool:
        """False for rules that only settle import VAT or give notice."""
        return bool(self.percentage or self.flat_per_subheading or self.chapter_rates.all())


class DutyChapterRate(models.Model):
    """A duty percentage for one HS chapter (2 digits) that replaces the rule's own."""

    rule = models.ForeignKey(
        DutyRule, on_delete=models.CASCADE, related_name="chapter_rates", verbose_name=_("rule")
    )
    hs_chapter = models.CharField(_("HS chapter"), max_length=2, validators=[validate_hs_chapter])
    percentage = models.DecimalField(
        _("duty (%)"), max_digits=6, decimal_places=3, validators=[MinValueValidator(ZERO)]
    )

    class Meta:
        verbose_name = _("chapter rate")
        verbose_name_plural = _("chapter rates")
        ordering = ["rule", "hs_chapter"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "hs_chapter"],
                name="duty_chapter_rate_once",
                violation_error_message=_("This chapter already has a rate in this rule."),
            ),
            models.CheckConstraint(
                condition=Q(hs_chapter__regex=r"^[0-9]{2}$"), name="duty_chapter_is_two_digits"
            ),
            models.CheckConstraint(
                condition=Q(percentage__gte=0, percentage__lte=1000),
                name="duty_chapter_rate_in_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.hs_chapter}: {self.percentage} %"
