"""The checkout's address form, shaped by the destination country.

Which fields appear and which are required follows the country: postal code
(with its example), the region list where the country has regions, the
district for Türkiye. The fields only collect text; every rule is checked by
``orders.cart`` and its messages are shown at the fields.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from django.utils.translation import gettext as _

from orders.cart import CheckoutAddress
from orders.models import Cart
from shipping.selectors import deliverable_countries, deliverable_districts, deliverable_regions
from shop.models import Country

# Countries whose addresses name a district (mahalle/ilçe) below the city.
DISTRICT_COUNTRIES = {"TR"}
ADDRESS_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "company",
    "vat_number",
    "line1",
    "line2",
    "city",
    "district",
    "postal_code",
    "region",
    "country",
)


@dataclass
class AddressField:
    name: str
    label: str
    value: str = ""
    kind: str = "text"  # text | email | tel | select
    required: bool = False
    autocomplete: str = ""
    choices: list[tuple[str, str]] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)
    help: str = ""
    error: str = ""
    refreshes: bool = False  # changing it re-renders the form


@dataclass
class AddressForm:
    country: str
    fields: list[AddressField]
    errors: list[str]

    @property
    def has_errors(self) -> bool:
        return bool(self.errors) or any(f.error for f in self.fields)


@lru_cache(maxsize=64)
def _territories(language: str) -> dict[str, str]:
    try:
        return dict(Locale.parse(language).territories)
    except (UnknownLocaleError, ValueError):
        return {}


def name_order(name: str) -> str:
    """A sort key that puts "Österreich" beside "Oman", not after "Zypern"."""
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().casefold()


def country_name(code: str, language: str, fallback: str = "") -> str:
    """The country's name in the shopper's language (CLDR), else ``fallback``."""
    return _territories(language).get(code) or fallback or code


def country_choices(language: str) -> list[tuple[str, str]]:
    """The countries the shop delivers to, named in ``language`` and in its order."""
    codes = deliverable_countries()
    names = dict(Country.objects.filter(code__in=codes).values_list("code", "name"))
    return sorted(
        ((code, country_name(code, language, names.get(code, ""))) for code in codes),
        key=lambda choice: name_order(choice[1]),
    )


def address_values(data: object) -> dict[str, str]:
    """The address fields of a query dict (missing ones empty, at most 1000 characters)."""
    values = {}
    for name in ADDRESS_FIELDS:
        raw = data.get(name, "") if hasattr(data, "get") else ""
        values[name] = raw[:1000] if isinstance(raw, str) else ""
    return values


def cart_address_values(cart: Cart) -> dict[str, str]:
    return {
        "first_name": cart.first_name,
        "last_name": cart.last_name,
        "email": cart.email,
        "phone": cart.phone,
        "company": cart.company,
        "vat_number": cart.vat_number,
        "line1": cart.line1,
        "line2": cart.line2,
        "city": cart.city,
        "district": cart.district,
        "postal_code": cart.postal_code,
        "region": cart.region_code,
        "country": cart.country_id or "",
    }


def address_from_values(values: dict[str, str]) -> CheckoutAddress:
    return CheckoutAddress(**values)


def address_form(
    *,
    values: dict[str, str],
    language: str,
    default_country: str,
    errors: dict[str, str] | None = None,
    contact: bool = True,
) -> AddressForm:
    """The form for ``values`` (the country chosen there, else ``default_country``).

    ``contact`` adds the e-mail address (the checkout's; a saved address has none).
    """
    errors = dict(errors or {})
    choices = country_choices(language)
    codes = [code for code, _name in choices]
    chosen = (values.get("country") or "").strip().upper()
    if chosen not in codes:
        chosen = default_country if default_country in codes else (codes[0] if codes else "")
    country = Country.objects.filter(code=chosen).first()

    def make(name: str, label: str, value: str | None = None, **options: object) -> AddressField:
        return AddressField(
            name=name,
            label=label,
            value=values.get(name, "") if value is None else value,
            error=errors.pop(name, ""),
            **options,  # type: ignore[arg-type]
        )

    fields = [
        make(
            "country",
            _("Country"),
            value=chosen,
            kind="select",
            required=True,
            autocomplete="country",
            choices=choices,
            refreshes=True,
        ),
        make("first_name", _("First name"), required=True, autocomplete="given-name"),
        make("last_name", _("Last name"), required=True, autocomplete="family-name"),
        make(
            "company",
            _("Company (optional)"),
            autocomplete="organization",
        ),
        make("line1", _("Street and house number"), required=True, autocomplete="address-line1"),
        make(
            "line2",
            _("Apartment, floor, etc. (optional)"),
            autocomplete="address-line2",
        ),
    ]
    requires_postal_code = bool(country and country.requires_postal_code)
    example = country.postal_code_example.split(",")[0].strip() if country else ""
    fields.append(
        make(
            "postal_code",
            _("Postal code") if requires_postal_code else _("Postal code (optional)"),
            required=requires_postal_code,
            autocomplete="postal-code",
            help=_("Example: %(example)s") % {"example": example} if example else "",
        )
    )
    fields.append(make("city", _("City"), required=True, autocomplete="address-level2"))
    if country is not None and country.uses_regions:
        regions = deliverable_regions(country.code)
        label = _("Province") if country.code == "TR" else _("State or region")
        fields.append(
            make(
                "region",
                label if country.requires_region else _("%(label)s (optional)") % {"label": label},
                kind="select",
                required=country.requires_region,
                autocomplete="address-level1",
                choices=[("", _("Choose…")), *regions],
                refreshes=country.code in DISTRICT_COUNTRIES,
            )
        )
    if country is not None and country.code in DISTRICT_COUNTRIES:
        region = values.get("region", "").strip().upper()
        fields.append(
            make(
                "district",
                _("District"),
                autocomplete="address-level3",
                suggestions=deliverable_districts(country.code, region) if region else [],
                help=_("Required in cities we deliver to by district, such as Istanbul."),
            )
        )
    if contact:
        fields.append(make("email", _("E-mail"), kind="email", required=True, autocomplete="email"))
    fields += [
        make("phone", _("Phone (optional)"), kind="tel", autocomplete="tel"),
        make(
            "vat_number",
            _("VAT number (optional, for businesses)"),
            help=_("With a valid EU VAT number, intra-EU business orders are reverse charged."),
        ),
    ]
    # Messages about fields this country's form does not show go on top.
    return AddressForm(country=chosen, fields=fields, errors=list(errors.values()))
