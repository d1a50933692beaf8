"""Exchange rates: the ECB daily reference rates, manual overrides and history."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from defusedxml import ElementTree
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from pricing.models import ExchangeRate
from shop import versions
from shop.config_cache import config_cached

if TYPE_CHECKING:
    from pricing.derivation import RebuildReport

BASE_CURRENCY = "EUR"
ECB_NAMESPACE = "{http://www.ecb.int/vocabulary/2002-08-01/eurofxref}"


class RatesError(Exception):
    """The rates document cannot be used; nothing was changed."""


class RatesDownloadError(RatesError):
    """The rates document could not be downloaded (worth trying again later)."""


@dataclass(frozen=True)
class ReferenceRates:
    effective_date: date
    rates: dict[str, Decimal]  # units per EUR


def parse_ecb_xml(document: bytes) -> ReferenceRates:
    """Read an ECB ``eurofxref-daily`` document; raise RatesError saying what is wrong."""
    try:
        root = ElementTree.fromstring(document)
    except ElementTree.ParseError as error:
        raise RatesError(f"not well-formed XML ({error})") from error
    except Exception as error:  # defusedxml refuses entities and DTDs
        raise RatesError(f"unsafe or unreadable XML ({type(error).__name__})") from error
    day = next((cube for cube in root.iter(f"{ECB_NAMESPACE}Cube") if cube.get("time")), None)
    if day is None:
        raise RatesError("no <Cube time='YYYY-MM-DD'> element: not an ECB reference rates file")
    try:
        effective_date = date.fromisoformat(day.get("time", ""))
    except ValueError as error:
        raise RatesError(f"the date {day.get('time')!r} is not YYYY-MM-DD") from error
    rates: dict[str, Decimal] = {}
    for cube in day.iter(f"{ECB_NAMESPACE}Cube"):
        currency, raw_rate = cube.get("currency"), cube.get("rate")
        if currency is None and raw_rate is None:
            continue
        if not currency or len(currency) != 3 or not currency.isalpha():
            raise RatesError(f"currency code {currency!r} is not ISO 4217")
        try:
            rate = Decimal(raw_rate or "")
        except InvalidOperation as error:
            raise RatesError(f"rate {raw_rate!r} for {currency} is not a number") from error
        if not rate.is_finite() or rate <= 0:
            raise RatesError(f"rate {raw_rate!r} for {currency} must be a positive number")
        if currency.upper() in rates:
            raise RatesError(f"{currency} appears twice")
        rates[currency.upper()] = rate
    if not rates:
        raise RatesError(f"no rates for {effective_date}")
    return ReferenceRates(effective_date, rates)


def fetch_ecb_xml(url: str | None = None, *, timeout: float = 15) -> bytes:
    """Download the daily reference rates document."""
    url = url or settings.ECB_RATES_URL
    if not url.startswith(("https://", "http://")):
        raise RatesError(f"refusing to fetch rates from {url!r}: not an HTTP(S) URL")
    request = urllib.request.Request(url, headers={"User-Agent": "Kervan rates updater"})  # noqa: S310
    try:
        # The scheme is checked above.
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.read()
    except OSError as error:
        raise RatesDownloadError(f"could not download {url}: {error}") from error


def exchange_rates_changed() -> None:
    """Rates were written: checkout reads them again once the transaction commits."""
    versions.retire(versions.EXCHANGE_RATES)


@transaction.atomic
def rates_store(reference: ReferenceRates) -> int:
    """Record one day's reference rates (earlier days stay as history); return the count."""
    exchange_rates_changed()
    for currency, rate in sorted(reference.rates.items()):
        ExchangeRate.objects.update_or_create(
            currency=currency,
            effective_date=reference.effective_date,
            source=ExchangeRate.Source.ECB,
            defaults={"rate": rate},
        )
    return len(reference.rates)


def current_rates() -> dict[str, Decimal]:
    """``latest_rates()`` kept in memory until rates change (for checkout; do not
    change the dict). Derivation reads ``latest_rates()`` itself: it runs in the
    transaction that stores new rates, before they are announced."""
    return config_cached(
        versions.EXCHANGE_RATES, f"latest:{timezone.localdate().isoformat()}", latest_rates
    )


def latest_rates() -> dict[str, Decimal]:
    """Units per EUR for every known currency (EUR itself is 1).

    A pinned manual rate wins; otherwise the most recent date, and on the
    same date a manual rate beats the reference rate.
    """
    rows = (
        ExchangeRate.objects.filter(effective_date__lte=timezone.localdate())
        .order_by("currency", "-is_pinned", "-effective_date", "-source", "-id")
        .values_list("currency", "rate")
    )
    rates: dict[str, Decimal] = {BASE_CURRENCY: Decimal(1)}
    for currency, rate in rows:
        rates.setdefault(currency, rate)
    return rates


@dataclass(frozen=True)
class UpdateReport:
    """What ``rates_update`` stored and how each derived price list followed."""

    effective_date: date
    currencies: int
    price_lists: tuple[RebuildReport, ...]  # every derived list once, sources before followers

    @property
    def problems(self) -> dict[str, str]:
        """Derived lists that could not be recomputed, with the reason."""
        return {report.price_list: report.problem for report in self.price_lists if report.problem}

    def as_dict(self) -> dict[str, object]:
        """A JSON-friendly summary (task results, logs)."""
        return {
            "date": self.effective_date.isoformat(),
            "currencies": self.currencies,
            "derived_prices_updated": {
                report.price_list: report.updated
                for report in self.price_lists
                if not report.problem
            },
            "problems": self.problems,
        }


def rates_update(*, document: bytes) -> UpdateReport:
    """Store the reference rates of an ECB document and recompute every derived price list.

    A document that cannot be used raises RatesError before anything is written.
    Rates and derived prices are committed together, so once this returns the
    shop sells at the new rates. A derived list that cannot be recomputed (no
    rate for its currency) keeps its prices and is named in the report.
    """
    from pricing.derivation import derived_prices_rebuild  # derivation reads latest_rates

    reference = parse_ecb_xml(document)
    with transaction.atomic():
        currencies = rates_store(reference)
        reports = derived_prices_rebuild()
    return UpdateReport(
        effective_date=reference.effective_date,
        currencies=currencies,
        price_lists=tuple(_each_list(reports)),
    )


def _each_list(reports: list[RebuildReport]) -> Iterator[RebuildReport]:
    for report in reports:
        yield report
        yield from _each_list(report.followers)
