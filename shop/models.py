"""Markets, geography and customers: the shop-wide core."""

from __future__ import annotations

import re

import pycountry
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise
from stdnum import iban as iban_number
from stdnum.eu import vat


def validate_currency_code(value: str) -> None:
    if pycountry.currencies.get(alpha_3=value) is None:
        raise ValidationError(
            _("%(value)s is not an ISO 4217 currency code."), params={"value": value}
        )


def validate_language_code(value: str) -> None:
    if value not in dict(settings.LANGUAGES):
        raise ValidationError(
            _("%(value)s is not one of the shop's interface languages."), params={"value": value}
        )


class Country(models.Model):
    """An ISO 3166-1 country with the rules its addresses follow."""

    code = models.CharField(_("code"), max_length=2, primary_key=True)
    name = models.CharField(_("name"), max_length=100)
    alpha3 = models.CharField(_("alpha-3 code"), max_length=3, unique=True)
    requires_postal_code = models.BooleanField(_("postal code required"), default=False)
    postal_code_pattern = models.CharField(
        _("postal code format"),
        max_length=1000,
        blank=True,
        help_text=_("A regular expression the whole postal code must match. Empty: any."),
    )
    postal_code_example = models.CharField(_("postal code example"), max_length=100, blank=True)
    uses_regions = models.BooleanField(
        _("regions offered"),
        default=False,
        help_text=_("Offer the region list (e.g. US states) in address forms."),
    )
    requires_region = models.BooleanField(_("region required"), default=False)

    class Meta:
        verbose_name = _("country")
        verbose_name_plural = _("countries")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(code__regex=r"^[A-Z]{2}$"), name="country_code_is_iso_alpha2"
            ),
            models.CheckConstraint(
                condition=Q(requires_region=False) | Q(uses_regions=True),
                name="country_required_region_is_offered",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.postal_code_pattern:
            try:
                re.compile(self.postal_code_pattern)
            except re.error as error:
                raise ValidationError(
                    {"postal_code_pattern": _("Not a valid regular expression: %s") % error}
                ) from error
        if self.requires_region and not self.uses_regions:
            raise ValidationError(
                {"requires_region": _("A region can only be required when regions are offered.")}
            )

    def is_valid_postal_code(self, postal_code: str) -> bool:
        """True when ``postal_code`` fits this country's format (case-insensitive)."""
        if not self.postal_code_pattern:
            return True
        return re.fullmatch(self.postal_code_pattern, postal_code.strip().upper()) is not None

    def postal_code_error(self, postal_code: str) -> str:
        """What is wrong with ``postal_code`` here ("" when nothing is)."""
        if not postal_code.strip():
            if self.requires_postal_code:
                return _("A postal code is required for %(country)s.") % {"country": self.name}
            return ""
        if not self.is_valid_postal_code(postal_code):
            example = self.postal_code_example.split(",")[0]
            return _("This is not a valid postal code for %(country)s (example: %(example)s).") % {
                "country": self.name,
                "example": example,
            }
        return ""


class Region(models.Model):
    """A first-level subdivision (state, province, Land…) from ISO 3166-2."""

    country = models.ForeignKey(
        Country, on_delete=models.CASCADE, related_name="regions", verbose_name=_("country")
    )
    code = models.CharField(_("ISO 3166-2 code"), max_length=10, unique=True)
    name = models.CharField(_("name"), max_length=150)
    kind = models.CharField(_("kind"), max_length=60, blank=True)
    parent = models.ForeignKey(
        "self",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("part of"),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        ordering = ["country", "name"]
        indexes = [models.Index(fields=["country", "is_active"])]

    def __str__(self) -> str:
        return self.name


# The European Union's member states (ISO 3166-1 alpha-2), one VAT area and customs union.
EU_MEMBER_STATES = frozenset(
    {
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "ES",
        "FI",
        "FR",
        "GR",
        "HR",
        "HU",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
    }
)


class Seller(models.Model):
    """The legal entity that sells in a market: it issues invoices and receives payments."""

    code = models.SlugField(_("code"), max_length=30, unique=True)
    legal_name = models.CharField(_("legal name"), max_length=200)
    line1 = models.CharField(_("address line 1"), max_length=200)
    line2 = models.CharField(_("address line 2"), max_length=200, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    city = models.CharField(_("city"), max_length=100)
    country = models.ForeignKey(
        Country, on_delete=models.PROTECT, related_name="+", verbose_name=_("country")
    )
    vat_number = models.CharField(
        _("VAT number"), max_length=40, blank=True, help_text=_("With the country prefix.")
    )
    tax_number = models.CharField(
        _("tax number"), max_length=40, blank=True, help_text=_("Local tax or trade number.")
    )
    tax_office = models.CharField(_("tax office"), max_length=100, blank=True)
    oss_registered = models.BooleanField(
        _("OSS registered"),
        default=False,
        help_text=_("Declares VAT of other EU countries through the One-Stop Shop."),
    )
    ioss_number = models.CharField(
        _("IOSS number"),
        max_length=20,
        blank=True,
        help_text=_("Import One-Stop Shop number, for EU imports up to 150 EUR."),
    )
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    bank_name = models.CharField(_("bank"), max_length=100, blank=True)
    iban = models.CharField(_("IBAN"), max_length=34, blank=True)
    bic = models.CharField(_("BIC"), max_length=11, blank=True)
    logo = models.ImageField(_("logo"), upload_to="sellers/", blank=True)

    class Meta:
        verbose_name = _("seller")
        verbose_name_plural = _("sellers")
        ordering = ["legal_name"]

    def __str__(self) -> str:
        return self.legal_name

    def clean(self) -> None:
        errors: dict[str, StrOrPromise] = {}
        self.iban = self.iban.replace(" ", "").upper()
        if self.iban and not iban_number.is_valid(self.iban):
            errors["iban"] = _("This is not a valid IBAN.")
        self.vat_number = self.vat_number.replace(" ", "").upper()
        if (
            self.vat_number
            and self.country_id in EU_MEMBER_STATES
            and not vat.is_valid(self.vat_number)
        ):
            errors["vat_number"] = _("This is not a valid EU VAT number.")
        if errors:
            raise ValidationError(errors)

    @property
    def in_eu(self) -> bool:
        return self.country_id in EU_MEMBER_STATES


class Market(models.Model):
    """A selling region: countries sharing one currency, languages and display rules."""

    code = models.SlugField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=100)
    currency = models.CharField(
        _("currency"), max_length=3, validators=[validate_currency_code], help_text="ISO 4217"
    )
    default_language = models.CharField(
        _("default language"), max_length=10, validators=[validate_language_code]
    )
    other_languages = ArrayField(
        models.CharField(max_length=10, validators=[validate_language_code]),
        verbose_name=_("other languages"),
        default=list,
        blank=True,
    )
    default_country = models.ForeignKey(
        Country, on_delete=models.PROTECT, related_name="+", verbose_name=_("default country")
    )
    countries: models.ManyToManyField[Country, MarketCountry] = models.ManyToManyField(
        Country,
        through="MarketCountry",
        related_name="markets",
        verbose_name=_("countries served"),
    )
    seller = models.ForeignKey(
        Seller,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="markets",
        verbose_name=_("seller"),
        help_text=_("The legal entity that sells here. A market without one cannot take orders."),
    )
    prices_include_tax = models.BooleanField(
        _("prices shown including tax"),
        default=True,
        help_text=_("Show shoppers gross prices (VAT included) rather than net prices."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    is_default = models.BooleanField(
        _("default market"),
        default=False,
        help_text=_("Used for visitors from countries no market serves, and for crawlers."),
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    dealer_group = models.ForeignKey(
        "CustomerGroup",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("dealer group"),
        help_text=_(
            "Which group approved dealers of this market join; "
            "its price list in this market gives the dealer prices."
        ),
    )

    class Meta:
        verbose_name = _("market")
        verbose_name_plural = _("markets")
        ordering = ["position", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="one_default_market"
            ),
            models.CheckConstraint(
                condition=Q(is_default=False) | Q(is_active=True),
                name="default_market_is_active",
            ),
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"), name="market_currency_is_iso4217"
            ),
            # Target of MarketCountry's composite foreign key (see its docstring).
            models.UniqueConstraint(fields=["id", "is_active"], name="market_id_is_active"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.currency:
            self.currency = self.currency.upper()
        if self.default_language in self.other_languages:
            self.other_languages = [
                code for code in self.other_languages if code != self.default_language
            ]
        if self.is_default and not self.is_active:
            raise ValidationError({"is_active": _("The default market must be active.")})

    @property
    def languages(self) -> list[str]:
        """Default language first, then the others, without repeats."""
        return list(dict.fromkeys([self.default_language, *self.other_languages]))


class MarketCountry(models.Model):
    """A country served by a market.

    ``is_market_active`` copies ``Market.is_active`` so that PostgreSQL itself
    can refuse a country in two active markets (a partial unique index). A
    composite foreign key ``(market_id, is_market_active) → market(id,
    is_active) ON UPDATE CASCADE`` (migration 0002) keeps the copy true:
    activating a market updates its rows, and fails if a country clashes.
    """

    market = models.ForeignKey(
        Market, on_delete=models.CASCADE, related_name="country_links", verbose_name=_("market")
    )
    country = models.ForeignKey(
        Country, on_delete=models.PROTECT, related_name="market_links", verbose_name=_("country")
    )
    is_market_active = models.BooleanField(default=True, editable=False)

    class Meta:
        verbose_name = _("country served")
        verbose_name_plural = _("countries served")
        constraints = [
            models.UniqueConstraint(fields=["market", "country"], name="market_country_once"),
            models.UniqueConstraint(
                fields=["country"],
                condition=Q(is_market_active=True),
                name="country_in_one_active_market",
                violation_error_message=_(
                    "This country is already served by another active market."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.market} – {self.country}"

    def save(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        self.is_market_active = self.market.is_active
        super().save(*args, **kwargs)


class CustomerGroup(models.Model):
    """Retail, B2B dealer…: a group can have its own prices per market."""

    code = models.SlugField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)

    class Meta:
        verbose_name = _("customer group")
        verbose_name_plural = _("customer groups")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Customer(models.Model):
    """The shop-side profile of a user account."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="customer",
        verbose_name=_("user"),
    )
    group = models.ForeignKey(
        CustomerGroup,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="customers",
        verbose_name=_("customer group"),
    )
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    preferred_language = models.CharField(
        _("preferred language"), max_length=10, blank=True, validators=[validate_language_code]
    )
    company_name = models.CharField(_("company"), max_length=150, blank=True)
    tax_number = models.CharField(
        _("tax number"), max_length=40, blank=True, help_text=_("VAT ID or local tax number.")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")

    def __str__(self) -> str:
        return str(self.user)


class Address(models.Model):
    """A postal address, checked against its country's rules."""

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="addresses", verbose_name=_("customer")
    )
    first_name = models.CharField(_("first name"), max_length=100)
    last_name = models.CharField(_("last name"), max_length=100)
    company_name = models.CharField(_("company"), max_length=150, blank=True)
    vat_number = models.CharField(_("VAT number"), max_length=40, blank=True)
    line1 = models.CharField(_("address line 1"), max_length=200)
    line2 = models.CharField(_("address line 2"), max_length=200, blank=True)
    city = models.CharField(_("city"), max_length=100)
    district = models.CharField(_("district"), max_length=100, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    region = models.ForeignKey(
        Region, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("region")
    )
    country = models.ForeignKey(Country, on_delete=models.PROTECT, verbose_name=_("country"))
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    is_default_shipping = models.BooleanField(_("default shipping address"), default=False)
    is_default_billing = models.BooleanField(_("default billing address"), default=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("address")
        verbose_name_plural = _("addresses")
        constraints = [
            models.UniqueConstraint(
                fields=["customer"],
                condition=Q(is_default_shipping=True),
                name="one_default_shipping_address",
            ),
            models.UniqueConstraint(
                fields=["customer"],
                condition=Q(is_default_billing=True),
                name="one_default_billing_address",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.full_name}, {self.line1}, {self.city}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def clean(self) -> None:
        if not self.country_id:
            return
        country = self.country
        errors: dict[str, str] = {}
        self.postal_code = self.postal_code.strip().upper()
        postal_code_error = country.postal_code_error(self.postal_code)
        if postal_code_error:
            errors["postal_code"] = postal_code_error
        if self.region is not None and self.region.country_id != country.code:
            errors["region"] = _("This region is not in %(country)s.") % {"country": country.name}
        elif self.region is None and country.requires_region:
            errors["region"] = _("Choose a region for %(country)s.") % {"country": country.name}
        if errors:
            raise ValidationError(errors)


class DealerApplication(models.Model):
    """A customer's request for a dealer account, decided by the merchant.

    Written by ``pricing.dealers`` only: it checks the VAT number and moves an
    approved customer into the market's dealer group.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        APPROVED = "approved", _("approved")
        REJECTED = "rejected", _("rejected")

    customer = models.ForeignKey(
        Customer,
        on_delete=models.CASCADE,
        related_name="dealer_applications",
        verbose_name=_("customer"),
    )
    market = models.ForeignKey(
        Market,
        on_delete=models.PROTECT,
        related_name="dealer_applications",
        verbose_name=_("market"),
        help_text=_("Where the customer applied; its dealer group is the one they join."),
    )
    company_name = models.CharField(_("company"), max_length=150)
    vat_number = models.CharField(
        _("VAT number"),
        max_length=40,
        blank=True,
        help_text=_("As checked (normalised). Empty outside the EU when a tax number is given."),
    )
    tax_number = models.CharField(
        _("tax number"), max_length=40, blank=True, help_text=_("Local tax or trade number.")
    )
    country = models.ForeignKey(
        Country, on_delete=models.PROTECT, related_name="+", verbose_name=_("country")
    )
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    message = models.TextField(_("message"), blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    vat_check_message = models.CharField(
        _("VAT check"),
        max_length=300,
        blank=True,
        help_text=_("What the VAT number check said when the customer applied."),
    )
    group = models.ForeignKey(
        CustomerGroup,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("group joined"),
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decision_note = models.TextField(
        _("reason for rejection"), blank=True, help_text=_("The customer reads it.")
    )
    decision_emailed_at = models.DateTimeField(_("decision e-mailed"), null=True, blank=True)
    created_at = models.DateTimeField(_("applied"), auto_now_add=True)

    class Meta:
        verbose_name = _("dealer application")
        verbose_name_plural = _("dealer applications")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "created_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"],
                condition=Q(status="pending"),
                name="one_pending_dealer_application",
                violation_error_message=_("This customer already has a pending application."),
            ),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "approved", "rejected"]),
                name="dealer_application_status_known",
            ),
            models.CheckConstraint(
                condition=~Q(vat_number="") | ~Q(tax_number=""),
                name="dealer_application_has_vat_or_tax_number",
            ),
            models.CheckConstraint(
                condition=Q(status="pending") | Q(decided_at__isnull=False),
                name="dealer_application_decision_dated",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.company_name} ({self.get_status_display()})"


class TaskRun(models.Model):
    """One run of a background task, for support: what ran, when, how long, with
    what result or error, and how far a long one has got (``shop.task_runs``)."""

    class State(models.TextChoices):
        RUNNING = "running", _("running")
        SUCCESS = "success", _("succeeded")
        FAILURE = "failure", _("failed")
        RETRY = "retry", _("will retry")

    task_name = models.CharField(_("task"), max_length=200)
    task_id = models.CharField(_("task id"), max_length=64, unique=True)
    state = models.CharField(_("state"), max_length=10, choices=State.choices)
    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    done = models.PositiveIntegerField(_("done"), null=True, blank=True)
    total = models.PositiveIntegerField(_("total"), null=True, blank=True)
    result = models.TextField(_("result"), blank=True)
    error = models.TextField(_("error"), blank=True)
    worker = models.CharField(_("worker"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("task run")
        verbose_name_plural = _("task runs")
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["task_name", "-started_at"], name="task_run_by_task"),
            models.Index(fields=["started_at"], name="task_run_by_start"),
        ]

    def __str__(self) -> str:
        return f"{self.task_name} @ {self.started_at:%Y-%m-%d %H:%M:%S}"

    @property
    def seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    @property
    def percent(self) -> int | None:
        if not self.total or self.done is None:
            return None
        return min(100, self.done * 100 // self.total)
