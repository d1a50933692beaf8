"""Tax at checkout: which rate, which VAT category and which legal note, per item.

``checkout_tax()`` answers for one sale: a seller, a destination and the items
(goods lines, shipping, fees). The rules, in order:

1. **Rate of an item.** By its tax class (``None`` means the class with code
   ``"standard"``) and the destination: a row for the destination's region
   (``"US-NY"``) first, then the country-wide row, in force on ``on`` (today by
   default). No row where a rate is needed raises ``pricing.tax.MissingTaxRate``
   and logs an error: we never sell untaxed. A rate is needed when tax is
   charged, and to take tax out of a gross amount; a net item that is
   zero-rated (reverse charge, export) needs no row.
2. **The seller's VAT area** is the EU (``shop.models.EU_MEMBER_STATES``) for a
   seller established in the EU, otherwise the seller's own country.
3. **EU B2B reverse charge** comes first: an EU seller, a buyer's VAT number
   that is valid (format and check digit by python-stdnum, plus VIES when
   ``VIES_CHECK_ENABLED``), whose country prefix is the destination country
   (Greece writes ``EL``), and a destination other than the seller's country.
   Every item is then 0 %, category ``AE``, with the Article 196 note.
4. **Inside the seller's VAT area** (domestic, or intra-EU to consumers) an
   item that does not cross a customs border pays the destination rate (the
   One-Stop Shop when the seller is OSS registered): category ``S``, or ``Z``
   when the row's rate is 0 %.
5. **Crossing a customs border** (``TaxableItem.crosses_border``):
   - with ``import_vat_at_checkout`` the seller charges the destination rate
     (``S``/``Z``) with a note: EU Import One-Stop Shop, UK VAT collected by the
     seller, US sales tax, or the destination's import VAT;
   - without it, nothing is charged and import taxes are due on delivery:
     category ``G`` (zero-rated export) when the destination is outside the
     seller's VAT area, with the note "Export outside <area> …", otherwise
     ``O`` (imported goods, VAT paid at import).
   Shipping and fees follow the goods they go with: the caller marks them
   ``crosses_border`` like the consignment.
6. **Outside the seller's VAT area without crossing** (goods already in the
   destination, e.g. a local stock pool, or a local service) the destination
   rate is charged like a domestic sale there (``S``/``Z``; US sales tax note).

**Amounts.** An item's amount is in the destination market's price list, so a
gross amount contains the *destination's* tax. When nothing is charged
(reverse charge, export, import on delivery) a gross amount is first reduced to
its net by the destination rate: the buyer pays the tax elsewhere (self-assessed
or at import) and must not pay it twice.

**Rounding** (EN 16931: line amounts, then sums; ``ROUND_HALF_UP`` to the
currency's minor unit). Gross items: ``gross = q(amount)``,
``net = q(gross × 100 / (100 + rate))``, ``tax = gross − net``. Net items:
``net = q(amount)``, ``tax = q(net × rate / 100)``, ``gross = net + tax``.
Totals are the sums of the items, so ``net + tax == gross`` holds for every
item and for the totals, to the cent.

**Engines.** The rules above are ``BuiltinTaxEngine`` (rates from
``pricing.TaxRate``). ``TAX_ENGINE = "stripe"`` asks Stripe Tax for the rates
and the tax of charged items instead (``StripeTaxEngine``); reverse charge,
exports and the notes stay ours, so both engines answer the same way.
"""

from __future__ import annotations

import json
import logging
import re
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from enum import Enum
from typing import Any, Protocol

from babel.core import UnknownLocaleError
from django.conf import settings
from django.core.cache import cache
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import InvalidChecksum, InvalidLength, ValidationError
from stdnum.util import get_cc_module

from catalog.models import TaxClass
from pricing.models import TaxRate
from pricing.money import HUNDRED, ZERO, quantize
from pricing.tax import MissingTaxRate
from shop import versions
from shop.config_cache import config_cached
from shop.models import EU_MEMBER_STATES, Seller
from shop.money import minor_units
from shop.storefront import country_name

logger = logging.getLogger(__name__)

STANDARD_TAX_CLASS = "standard"

# EN 16931 VAT category codes (UNTDID 5305 subset).
STANDARD_RATE = "S"
ZERO_RATED = "Z"
EXEMPT = "E"
REVERSE_CHARGE = "AE"
EXPORT = "G"
OUTSIDE_SCOPE = "O"

# VIES and VAT numbers write Greece as EL.
_VAT_PREFIX_TO_COUNTRY = {"EL": "GR"}
_COUNTRY_TO_VAT_PREFIX = {"GR": "EL"}
_EU_VAT_PREFIXES = frozenset(
    {_COUNTRY_TO_VAT_PREFIX.get(country, country) for country in EU_MEMBER_STATES}
)


# ---------------------------------------------------------------------------
# Data passed in and out (the interface the checkout codes against)


@dataclass(frozen=True)
class TaxableItem:
    """Something sold at checkout: a goods line, shipping or a fee."""

    key: str  # caller's id: "line:<n>", "shipping", "fee"
    tax_class_id: int | None  # None → the class with code "standard"
    amount: Decimal  # the item's total (unit price × quantity) in the sale's currency
    amount_includes_tax: bool  # True when ``amount`` is gross
    crosses_border: bool = False  # ships into the destination across a customs border


@dataclass(frozen=True)
class TaxedItem:
    """An item with its tax: quantized, and ``net + tax == gross`` exactly."""

    key: str
    rate: Decimal
    category: str  # EN 16931 code S/Z/E/AE/K/G/O
    net: Decimal
    tax: Decimal
    gross: Decimal


@dataclass(frozen=True)
class TaxQuote:
    """The taxed items of one sale, the legal notes to print, and how it was treated."""

    items: tuple[TaxedItem, ...]
    notes: tuple[str, ...]  # translated legal notes
    reverse_charge: bool
    export: bool
    vat_number: str  # normalised when valid, else ""

    def item(self, key: str) -> TaxedItem:
        for item in self.items:
            if item.key == key:
                return item
        raise KeyError(key)

    @property
    def net(self) -> Decimal:
        return sum((item.net for item in self.items), ZERO)

    @property
    def tax(self) -> Decimal:
        return sum((item.tax for item in self.items), ZERO)

    @property
    def gross(self) -> Decimal:
        return sum((item.gross for item in self.items), ZERO)


class InvalidVatNumber(ValueError):
    """The buyer's VAT number is not valid; ``message`` says why, for the shopper."""

    def __init__(self, message: str, *, number: str = "") -> None:
        self.message = message
        self.number = number
        super().__init__(message)


class TaxEngineError(Exception):
    """The external tax engine could not answer; ``message`` is for the merchant."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


# ---------------------------------------------------------------------------
# VAT numbers


@dataclass(frozen=True)
class VatCheck:
    valid: bool
    number: str  # normalised (EU numbers with their VAT prefix, e.g. "EL…")
    country: str  # ISO 3166-1 country of the number ("GR" for "EL…"), "" when unknown
    message: str


class VatRegistryUnavailable(Exception):
    """The VAT registry could not be asked (network, timeout, member state down)."""


class VatRegistry(Protocol):
    """A register of VAT numbers, such as the EU's VIES."""

    def is_registered(self, *, country_code: str, number: str) -> bool:
        """Whether ``number`` (without prefix) is registered under ``country_code``.

        Raises ``VatRegistryUnavailable`` when the registry cannot answer.
        """
        ...


class ViesRegistry:
    """The EU's VIES through its REST API (``POST /check-vat-number``)."""

    def __init__(self, *, api_url: str, timeout: float) -> None:
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout

    def is_registered(self, *, country_code: str, number: str) -> bool:
        body = json.dumps({"countryCode": country_code, "vatNumber": number}).encode()
        request = urllib.request.Request(  # noqa: S310 - the URL comes from settings
            f"{self.api_url}/check-vat-number",
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                answer = json.loads(response.read())
        except (OSError, ValueError) as error:  # URLError, HTTPError, timeout, bad JSON
            raise VatRegistryUnavailable(str(error)) from error
        if not isinstance(answer, dict) or not isinstance(answer.get("valid"), bool):
            # e.g. {"actionSucceed": false, "errorWrappers": [{"error": "MS_UNAVAILABLE"}]}
            raise VatRegistryUnavailable(f"unexpected VIES answer: {str(answer)[:200]}")
        return answer["valid"]


def vat_registry() -> VatRegistry | None:
    """VIES when ``VIES_CHECK_ENABLED`` is set, else None (format and checksum only)."""
    if not getattr(settings, "VIES_CHECK_ENABLED", False):
        return None
    return ViesRegistry(
        api_url=getattr(
            settings, "VIES_API_URL", "https://ec.europa.eu/taxation_customs/vies/rest-api"
        ),
        timeout=float(getattr(settings, "VIES_TIMEOUT_SECONDS", 3)),
    )


def _vat_compact(number: str) -> str:
    return re.sub(r"[\s.\-/,]", "", number).upper()


def vat_number_check(number: str, *, country: str = "") -> VatCheck:
    """Check a VAT number: normalise, format and check digit (python-stdnum), then VIES.

    ``country`` is the buyer's country: it prefixes a number written without its
    country code and picks the national rules outside the EU. VIES is asked only
    when enabled; when it cannot be reached the number is accepted on its format
    and the message says it is not verified yet.
    """
    country = country.strip().upper()
    compact = _vat_compact(number)
    if not compact:
        return VatCheck(False, "", country, gettext("Enter a VAT number."))
    prefix = compact[:2] if compact[:2].isalpha() else ""
    if prefix == "GR":
        prefix, compact = "EL", "EL" + compact[2:]
    if not prefix and country:
        prefix = _COUNTRY_TO_VAT_PREFIX.get(country, country)
        compact = prefix + compact
    if not prefix:
        return VatCheck(
            False,
            compact,
            "",
            gettext("Start the VAT number with its country code, for example DE123456789."),
        )
    number_country = _VAT_PREFIX_TO_COUNTRY.get(prefix, prefix)
    if prefix in _EU_VAT_PREFIXES:
        module: Any = eu_vat
    else:
        module = get_cc_module(number_country.lower(), "vat")
        if module is None:
            return VatCheck(
                False,
                compact,
                number_country,
                gettext("VAT numbers of %(country)s cannot be checked here.")
                % {"country": _country(number_country)},
            )
    if module is not eu_vat and not module.is_valid(compact) and module.is_valid(compact[2:]):
        compact = compact[2:]  # a national number (Türkiye's VKN) has no country prefix
    try:
        normalised = module.validate(compact)
    except InvalidChecksum:
        message = gettext("This VAT number is not valid: its check digit is wrong.")
    except InvalidLength:
        message = gettext("This VAT number has the wrong length for %(country)s.") % {
            "country": _country(number_country)
        }
    except ValidationError:
        message = gettext("This is not a valid VAT number of %(country)s.") % {
            "country": _country(number_country)
        }
    else:
        return _vies_verified(
            VatCheck(True, str(normalised), number_country, ""), is_eu=prefix in _EU_VAT_PREFIXES
        )
    return VatCheck(False, compact, number_country, message)


VIES_CACHE_SECONDS = 3600


def _vies_verified(check: VatCheck, *, is_eu: bool) -> VatCheck:
    """``check`` confirmed by VIES. VIES's answer is kept an hour per number, so the
    quotes of one checkout do not ask again; an unreachable VIES is not kept."""
    registry = vat_registry()
    if registry is None or not is_eu:
        return check
    prefix, digits = check.number[:2], check.number[2:]
    cache_key = f"vies:{check.number}"
    try:
        registered = cache.get(cache_key)
        if not isinstance(registered, bool):
            registered = registry.is_registered(country_code=prefix, number=digits)
            cache.set(cache_key, registered, VIES_CACHE_SECONDS)
    except VatRegistryUnavailable as error:
        logger.warning("VIES unavailable for %s: %s", check.number, error)
        return VatCheck(
            True,
            check.number,
            check.country,
            gettext(
                "The VAT number has a valid format, but it is not verified yet: "
                "the EU's VIES service could not be reached."
            ),
        )
    if not registered:
        return VatCheck(
            False,
            check.number,
            check.country,
            gettext("This VAT number is not registered in the EU's VIES service."),
        )
    return VatCheck(True, check.number, check.country, gettext("Verified in VIES."))


# ---------------------------------------------------------------------------
# How each item is treated


class Treatment(Enum):
    CHARGED = "charged"  # destination rate, S/Z
    REVERSE_CHARGE = "reverse_charge"  # 0 %, AE
    EXPORT = "export"  # 0 %, G
    IMPORT_ON_DELIVERY = "import_on_delivery"  # 0 %, O (into the seller's area, paid at import)


_ZERO_CATEGORY = {
    Treatment.REVERSE_CHARGE: REVERSE_CHARGE,
    Treatment.EXPORT: EXPORT,
    Treatment.IMPORT_ON_DELIVERY: OUTSIDE_SCOPE,
}


@dataclass(frozen=True)
class Sale:
    """One checkout's facts, normalised."""

    seller: Seller
    seller_country: str
    destination_country: str
    destination_region: str  # ISO 3166-2 ("US-NY") or ""
    currency: str
    vat_number: str  # normalised and valid, or ""
    vat_country: str
    import_vat_at_checkout: bool
    on: date

    @property
    def seller_in_eu(self) -> bool:
        return self.seller_country in EU_MEMBER_STATES

    def in_seller_area(self, country: str) -> bool:
        if self.seller_in_eu:
            return country in EU_MEMBER_STATES
        return country == self.seller_country

    @property
    def is_reverse_charge(self) -> bool:
        return (
            self.seller_in_eu
            and bool(self.vat_number)
            and self.vat_country == self.destination_country
            and self.destination_country in EU_MEMBER_STATES
            and self.destination_country != self.seller_country
        )

    def treatment(self, item: TaxableItem) -> Treatment:
        if self.is_reverse_charge:
            return Treatment.REVERSE_CHARGE
        if item.crosses_border and not self.import_vat_at_checkout:
            if self.in_seller_area(self.destination_country):
                return Treatment.IMPORT_ON_DELIVERY
            return Treatment.EXPORT
        return Treatment.CHARGED


def _country(code: str) -> str:
    language = translation.get_language() or settings.LANGUAGE_CODE
    try:
        return country_name(code, language.replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return code


def _seller_area_name(sale: Sale) -> str:
    return gettext("the EU") if sale.seller_in_eu else _country(sale.seller_country)


def _notes(
    sale: Sale, taxed: Sequence[tuple[TaxableItem, Treatment, TaxedItem]]
) -> tuple[str, ...]:
    notes: list[str] = []

    def add(note: str) -> None:
        if note not in notes:
            notes.append(note)

    destination = sale.destination_country
    for item, treatment, result in taxed:
        if treatment is Treatment.REVERSE_CHARGE:
            add(
                gettext(
                    "Reverse charge: VAT to be accounted for by the recipient "
                    "(Article 196 Directive 2006/112/EC)."
                )
            )
        elif treatment is Treatment.EXPORT:
            if sale.seller_in_eu:
                add(
                    gettext(
                        "Export outside %(area)s: VAT 0 %% (Article 146 Directive "
                        "2006/112/EC); import taxes are due on delivery."
                    )
                    % {"area": _seller_area_name(sale)}
                )
            else:
                add(
                    gettext("Export outside %(area)s: VAT 0 %%; import taxes are due on delivery.")
                    % {"area": _seller_area_name(sale)}
                )
        elif treatment is Treatment.IMPORT_ON_DELIVERY:
            add(gettext("Imported goods: VAT and import duties are due on delivery."))
        elif destination == "US":
            add(
                gettext("Sales tax of %(place)s collected by the seller.")
                % {"place": sale.destination_region or _country(destination)}
            )
        elif item.crosses_border:
            if destination in EU_MEMBER_STATES and sale.seller.ioss_number:
                add(
                    gettext(
                        "Import VAT collected at checkout under the Import One-Stop Shop "
                        "(IOSS number %(number)s)."
                    )
                    % {"number": sale.seller.ioss_number}
                )
            elif destination == "GB":
                add(gettext("UK VAT collected by the seller at the point of sale."))
            else:
                add(
                    gettext("Import VAT of %(country)s collected at checkout.")
                    % {"country": _country(destination)}
                )
        elif (
            sale.seller_in_eu
            and destination in EU_MEMBER_STATES
            and destination != sale.seller_country
            and sale.seller.oss_registered
            and result.tax
        ):
            add(
                gettext("VAT of %(country)s declared through the One-Stop Shop (OSS).")
                % {"country": _country(destination)}
            )
    return tuple(notes)


def _rate_shown(rate: Decimal) -> Decimal:
    """19.000 → 19.00; 8.875 stays 8.875."""
    two = rate.quantize(Decimal("0.01"))
    return two if two == rate else rate


def _charged(
    key: str, rate: Decimal, amount: Decimal, includes_tax: bool, currency: str
) -> TaxedItem:
    if includes_tax:
        gross = quantize(amount, currency)
        net = quantize(gross * HUNDRED / (HUNDRED + rate), currency)
        tax = gross - net
    else:
        net = quantize(amount, currency)
        tax = quantize(net * rate / HUNDRED, currency)
        gross = net + tax
    category = STANDARD_RATE if rate > 0 else ZERO_RATED
    return TaxedItem(key, _rate_shown(rate), category, net, tax, gross)


def _zero_rated(
    key: str, category: str, amount: Decimal, included_rate: Decimal | None, currency: str
) -> TaxedItem:
    """Nothing charged; a gross amount first loses the destination tax it contains."""
    if included_rate is None:
        net = quantize(amount, currency)
    else:
        net = quantize(quantize(amount, currency) * HUNDRED / (HUNDRED + included_rate), currency)
    return TaxedItem(key, _rate_shown(ZERO), category, net, quantize(ZERO, currency), net)


# ---------------------------------------------------------------------------
# Engines


class TaxEngine(Protocol):
    """Computes the tax of a sale; ``checkout_tax`` picks one from ``TAX_ENGINE``."""

    def quote(self, *, sale: Sale, items: Sequence[TaxableItem]) -> TaxQuote: ...


def _quote_with(
    sale: Sale,
    items: Sequence[TaxableItem],
    *,
    rate_of: Callable[[TaxableItem], Decimal],
    charge: Callable[[TaxableItem, Decimal], TaxedItem] | None = None,
) -> TaxQuote:
    """The rules shared by every engine; ``rate_of`` gives the destination rate of an item."""
    taxed: list[tuple[TaxableItem, Treatment, TaxedItem]] = []
    for item in items:
        treatment = sale.treatment(item)
        if treatment is Treatment.CHARGED:
            rate = rate_of(item)
            if charge is not None:
                result = charge(item, rate)
            else:
                result = _charged(
                    item.key, rate, item.amount, item.amount_includes_tax, sale.currency
                )
        else:
            included = rate_of(item) if item.amount_includes_tax else None
            result = _zero_rated(
                item.key, _ZERO_CATEGORY[treatment], item.amount, included, sale.currency
            )
        taxed.append((item, treatment, result))
    return TaxQuote(
        items=tuple(result for _item, _treatment, result in taxed),
        notes=_notes(sale, taxed),
        reverse_charge=sale.is_reverse_charge and bool(taxed),
        export=any(treatment is Treatment.EXPORT for _item, treatment, _result in taxed),
        vat_number=sale.vat_number,
    )


def _tax_class_codes(items: Sequence[TaxableItem]) -> tuple[dict[int, str], int | None]:
    """Codes of the items' tax classes and the id of the standard class."""
    every: dict[int, str] = config_cached(
        versions.PRICING, "tax-classes", lambda: dict(TaxClass.objects.values_list("id", "code"))
    )
    ids = {item.tax_class_id for item in items if item.tax_class_id is not None}
    codes = {id_: code for id_, code in every.items() if id_ in ids or code == STANDARD_TAX_CLASS}
    standard = next((id_ for id_, code in codes.items() if code == STANDARD_TAX_CLASS), None)
    return codes, standard


def _missing(sale: Sale, tax_class_id: int | None) -> MissingTaxRate:
    error = MissingTaxRate(
        country=sale.destination_country, tax_class_id=tax_class_id, region=sale.destination_region
    )
    logger.error(
        "No tax rate for tax class %s in %s on %s (seller %s): sale stopped",
        tax_class_id,
        sale.destination_region or sale.destination_country,
        sale.on.isoformat(),
        sale.seller.code,
    )
    return error


class BuiltinTaxEngine:
    """Rates from ``pricing.TaxRate``: region row first, then the country-wide row."""

    def quote(self, *, sale: Sale, items: Sequence[TaxableItem]) -> TaxQuote:
        _codes, standard = _tax_class_codes(items)
        rates = self._rates(sale, {item.tax_class_id or standard for item in items} - {None})

        def rate_of(item: TaxableItem) -> Decimal:
            class_id = item.tax_class_id or standard
            rate = rates.get(class_id) if class_id is not None else None
            if rate is None:
                raise _missing(sale, class_id)
            return rate

        return _quote_with(sale, items, rate_of=rate_of)

    @staticmethod
    def _rates(sale: Sale, class_ids: set[int | None]) -> dict[int, Decimal]:
        if not class_ids:
            return {}
        key = f"checkout-rates:{sale.destination_country}:{sale.destination_region}:{sale.on}"
        every = config_cached(
            versions.PRICING,
            key,
            lambda: _place_rates(sale.destination_country, sale.destination_region, sale.on),
        )
        return {class_id: rate for class_id, rate in every.items() if class_id in class_ids}


def _place_rates(country: str, region: str, on: date) -> dict[int, Decimal]:
    """Tax class → rate in force at a place on a day: the region's row, else the country's."""
    place = Q(region__isnull=True)
    if region:
        place |= Q(region__code=region)
    rows = (
        TaxRate.objects.filter(place, country_id=country, valid_from__lte=on)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=on))
        .order_by("tax_class_id", "-valid_from")
        .values_list("tax_class_id", "region_id", "rate")
    )
    regional: dict[int, Decimal] = {}
    national: dict[int, Decimal] = {}
    for class_id, region_id, rate in rows:
        (regional if region_id is not None else national).setdefault(class_id, rate)
    return {**national, **regional}


class StripeTaxEngine:
    """Stripe Tax calculations (``stripe.tax.Calculation``) for the rates and charged tax.

    Every item goes to Stripe as a consumer sale at the destination (one line
    per item, ``reference`` = the item's key; negative amounts are sent positive
    and the answer negated; zero amounts are not sent and count as 0 %). Charged
    items take Stripe's amounts as they are; reverse charge, exports and imports
    paid on delivery use Stripe's rate only to take the tax out of gross amounts.
    """

    def __init__(
        self,
        *,
        api_key: str,
        api_base: str = "",
        tax_codes: Mapping[str, str] | None = None,
    ) -> None:
        self.api_key = api_key
        self.api_base = api_base
        self.tax_codes = dict(tax_codes or {STANDARD_TAX_CLASS: "txcd_99999999"})

    def quote(self, *, sale: Sale, items: Sequence[TaxableItem]) -> TaxQuote:
        codes, standard = _tax_class_codes(items)
        lines = self._calculate(sale, items, codes, standard)
        digits = minor_units(sale.currency)

        def rate_of(item: TaxableItem) -> Decimal:
            line = lines.get(item.key)
            return _stripe_rate(line) if line is not None else ZERO

        def charge(item: TaxableItem, rate: Decimal) -> TaxedItem:
            line = lines.get(item.key)
            if line is None:  # a zero amount
                return _charged(
                    item.key, rate, item.amount, item.amount_includes_tax, sale.currency
                )
            sign = -1 if item.amount < 0 else 1
            amount = Decimal(sign * int(line["amount"])).scaleb(-digits)
            tax = Decimal(sign * int(line["amount_tax"])).scaleb(-digits)
            if line.get("tax_behavior") == "inclusive":
                gross, net = amount, amount - tax
            else:
                net, gross = amount, amount + tax
            return TaxedItem(
                item.key, _rate_shown(rate), _stripe_category(line, rate), net, tax, gross
            )

        return _quote_with(sale, items, rate_of=rate_of, charge=charge)

    def _tax_code(self, class_code: str) -> str:
        return self.tax_codes.get(class_code) or self.tax_codes.get(
            STANDARD_TAX_CLASS, "txcd_99999999"
        )

    def _calculate(
        self,
        sale: Sale,
        items: Sequence[TaxableItem],
        codes: dict[int, str],
        standard: int | None,
    ) -> dict[str, Any]:
        import stripe

        digits = minor_units(sale.currency)
        line_items: list[dict[str, Any]] = []
        for item in items:
            minor = int(quantize(abs(item.amount), sale.currency).scaleb(digits))
            if minor == 0:
                continue
            class_id = item.tax_class_id or standard
            line_items.append(
                {
                    "amount": minor,
                    "reference": item.key,
                    "quantity": 1,
                    "tax_behavior": "inclusive" if item.amount_includes_tax else "exclusive",
                    "tax_code": self._tax_code(codes.get(class_id, "") if class_id else ""),
                }
            )
        if not line_items:
            return {}
        address: dict[str, str] = {"country": sale.destination_country}
        if sale.destination_region:
            address["state"] = sale.destination_region.split("-", 1)[-1]
        params: dict[str, Any] = {
            "currency": sale.currency.lower(),
            "customer_details": {"address": address, "address_source": "shipping"},
            "line_items": line_items,
            "expand": ["line_items.data.tax_breakdown"],
        }
        if sale.on != timezone.localdate():
            params["tax_date"] = int(datetime.combine(sale.on, time(12), tzinfo=UTC).timestamp())
        if self.api_base:
            stripe.api_base = self.api_base
        try:
            calculation = stripe.tax.Calculation.create(api_key=self.api_key, **params)
            listed = calculation.to_dict().get("line_items")
            if listed is None or listed.get("has_more"):
                pages = stripe.tax.Calculation.list_line_items(
                    str(calculation.id),
                    api_key=self.api_key,
                    limit=100,
                    expand=["data.tax_breakdown"],
                )
                answered_lines = [line.to_dict() for line in pages.auto_paging_iter()]
            else:
                answered_lines = list(listed["data"])
            answered = {str(line["reference"]): line for line in answered_lines}
        except stripe.StripeError as error:
            logger.error("Stripe Tax calculation failed: %s", error)
            raise TaxEngineError(
                gettext("The tax could not be calculated right now. Please try again shortly.")
            ) from error
        missing = {line["reference"] for line in line_items} - answered.keys()
        if missing:
            logger.error("Stripe Tax answered without lines %s", sorted(missing))
            raise TaxEngineError(
                gettext("The tax could not be calculated right now. Please try again shortly.")
            )
        return answered


def _stripe_rate(line: Any) -> Decimal:
    """Sum of the line's tax rates (US: state + county + city), in percent."""
    total = ZERO
    for part in line.get("tax_breakdown") or ():
        details = part.get("tax_rate_details")
        if details and part.get("amount", 0):
            total += Decimal(str(details["percentage_decimal"]))
    if total == 0 and line.get("amount_tax"):
        # No breakdown: the effective rate of the line.
        amount, tax = Decimal(int(line["amount"])), Decimal(int(line["amount_tax"]))
        base = amount - tax if line.get("tax_behavior") == "inclusive" else amount
        total = (tax * HUNDRED / base).quantize(Decimal("0.001")) if base else ZERO
    return total


def _stripe_category(line: Any, rate: Decimal) -> str:
    reasons = {part.get("taxability_reason") for part in line.get("tax_breakdown") or ()}
    if rate > 0:
        return STANDARD_RATE
    if "reverse_charge" in reasons:
        return REVERSE_CHARGE
    if reasons & {"product_exempt", "customer_exempt", "product_exempt_holiday"}:
        return EXEMPT
    if reasons & {"not_collecting", "not_subject_to_tax", "not_supported"}:
        return OUTSIDE_SCOPE
    return ZERO_RATED


def tax_engine() -> TaxEngine:
    """The engine named by ``TAX_ENGINE``: "builtin" (default) or "stripe"."""
    name = getattr(settings, "TAX_ENGINE", "builtin")
    if name == "stripe":
        return StripeTaxEngine(
            api_key=getattr(settings, "STRIPE_SECRET_KEY", ""),
            api_base=getattr(settings, "STRIPE_API_BASE", ""),
            tax_codes=getattr(settings, "STRIPE_TAX_CODES", None),
        )
    if name != "builtin":
        raise ValueError(f"Unknown TAX_ENGINE {name!r}: use 'builtin' or 'stripe'")
    return BuiltinTaxEngine()


# ---------------------------------------------------------------------------
# The checkout's entry point


def checkout_tax(
    *,
    seller: Seller,
    destination_country: str,
    destination_region: str = "",
    items: Sequence[TaxableItem],
    currency: str,
    vat_number: str = "",
    import_vat_at_checkout: bool = True,
    on: date | None = None,
) -> TaxQuote:
    """Tax every item of a sale by the rules in this module's docstring.

    ``destination_region`` is an ISO 3166-2 code ("US-NY"; "NY" is read as
    "US-NY"). A VAT number, when given, must be valid: otherwise
    ``InvalidVatNumber`` is raised with a message for the shopper. Raises
    ``MissingTaxRate`` when a needed rate is missing, and ``TaxEngineError``
    when the external engine cannot answer.
    """
    country = destination_country.strip().upper()
    if not re.fullmatch(r"[A-Z]{2}", country):
        raise ValueError(f"destination_country must be an ISO 3166-1 alpha-2 code: {country!r}")
    region = destination_region.strip().upper()
    if region and "-" not in region:
        region = f"{country}-{region}"
    keys = [item.key for item in items]
    if len(set(keys)) != len(keys):
        raise ValueError("Each taxable item needs its own key")
    number, number_country = "", ""
    if vat_number.strip():
        check = vat_number_check(vat_number, country=country)
        if not check.valid:
            raise InvalidVatNumber(check.message, number=check.number)
        number, number_country = check.number, check.country
    sale = Sale(
        seller=seller,
        seller_country=str(seller.country_id).upper(),
        destination_country=country,
        destination_region=region,
        currency=currency.upper(),
        vat_number=number,
        vat_country=number_country,
        import_vat_at_checkout=import_vat_at_checkout,
        on=on or timezone.localdate(),
    )
    return tax_engine().quote(sale=sale, items=items)
