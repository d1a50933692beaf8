"""Dealer accounts: a customer applies, the merchant approves or rejects.

An approved dealer joins the dealer group of the market they applied in
(``Market.dealer_group``); the group's price list in a market gives their
prices there, for every page that prices through ``offers_for``. The VAT
number is checked as at checkout (``vat_number_check``), and the approved
number becomes the customer's tax number, so the checkout's reverse charge
applies where it should.

Decisions are told, after their commit, to the listeners a higher app
registers (the storefront's e-mail): pricing cannot import it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from pricing.checkout_tax import VatCheck, vat_number_check
from shop.models import (
    EU_MEMBER_STATES,
    Country,
    Customer,
    CustomerGroup,
    DealerApplication,
    Market,
)
from shop.storefront import country_name

logger = logging.getLogger(__name__)

COMPANY_NAME_MAX = 150
NUMBER_MAX = 40
MESSAGE_MAX = 2000

DecisionListener = Callable[[DealerApplication], None]
_DECISION_LISTENERS: list[DecisionListener] = []


class DealerApplicationError(Exception):
    """An application that cannot be made or decided; ``message`` says why, ``errors``
    per field (``company_name``, ``country``, ``vat_number``, ``tax_number``…)."""

    def __init__(self, message: str, errors: dict[str, str] | None = None) -> None:
        self.message = message
        self.errors = dict(errors or {})
        super().__init__(message)


def dealer_decision_listener_register(listener: DecisionListener) -> None:
    """Hand every decided application to ``listener`` after its commit (an app above
    pricing registers its e-mail when it is ready; pricing cannot import it)."""
    if listener not in _DECISION_LISTENERS:
        _DECISION_LISTENERS.append(listener)


def _decision_announce(application: DealerApplication) -> None:
    for listener in _DECISION_LISTENERS:
        try:
            listener(application)
        except Exception:
            # The decision is committed; a failing listener (broker down) must not undo it.
            logger.exception("Dealer application %s: a decision listener failed", application.pk)


# ---------------------------------------------------------------------------
# Reads


def is_dealer(customer: Customer, market: Market) -> bool:
    """Whether ``customer`` is a dealer already: in ``market``'s dealer group, or still
    in the group an approved application of theirs put them in."""
    if customer.group_id is None:
        return False
    if customer.group_id == market.dealer_group_id:
        return True
    return DealerApplication.objects.filter(
        customer=customer, status=DealerApplication.Status.APPROVED, group_id=customer.group_id
    ).exists()


def dealer_application_latest(customer: Customer) -> DealerApplication | None:
    """The customer's most recent application, with its country and market."""
    return (
        DealerApplication.objects.filter(customer=customer)
        .select_related("country", "market")
        .order_by("-created_at", "-pk")
        .first()
    )


def dealer_price_markets(group_id: int | None) -> list[Market]:
    """The active markets where ``group_id`` has its own price list (dealer prices)."""
    if group_id is None:
        return []
    return list(
        Market.objects.filter(is_active=True, price_lists__customer_group_id=group_id)
        .distinct()
        .order_by("position", "name")
    )


# ---------------------------------------------------------------------------
# Applying


def _vat_checked(number: str, *, country: str) -> tuple[VatCheck, str]:
    """The check in the customer's language, and for the merchant's records what it
    said in the shop's language (the admin shows it)."""
    with translation.override(settings.LANGUAGE_CODE):
        recorded = vat_number_check(number, country=country)
        note = recorded.message or _("Valid format and check digit (not looked up in VIES).")
    if recorded.valid or translation.get_language() == settings.LANGUAGE_CODE:
        return recorded, note
    # Only invalid numbers are checked again: their answers need no new VIES lookup.
    return vat_number_check(number, country=country), note


def _pending_message() -> str:
    return _("Your application is waiting for our answer: there is no need to apply again.")


def _may_apply_check(customer: Customer, market: Market) -> None:
    """Refuse a dealer, or a customer whose application waits (``customer`` as stored)."""
    if is_dealer(customer, market):
        raise DealerApplicationError(_("You already have a dealer account."))
    if DealerApplication.objects.filter(
        customer=customer, status=DealerApplication.Status.PENDING
    ).exists():
        raise DealerApplicationError(_pending_message())


def _too_long(value: str, limit: int) -> str:
    if len(value) > limit:
        return _("At most %(count)d characters.") % {"count": limit}
    return ""


def dealer_application_submit(
    *,
    customer: Customer,
    market: Market,
    company_name: str,
    vat_number: str,
    tax_number: str,
    country: str,
    phone: str,
    message: str,
) -> DealerApplication:
    """Apply for a dealer account in ``market``; the application waits for the merchant.

    ``country`` is the company's ISO code. In the EU a valid VAT number of that
    country is required; elsewhere a valid VAT number or a tax number. Raises
    ``DealerApplicationError`` (nothing saved) with a message per field, or
    when the customer is a dealer already or has an application waiting.
    """
    _may_apply_check(Customer.objects.get(pk=customer.pk), market)

    company_name, phone, message = company_name.strip(), phone.strip(), message.strip()
    vat_number, tax_number = vat_number.strip(), " ".join(tax_number.split())
    code = country.strip().upper()
    errors: dict[str, str] = {}
    if not company_name:
        errors["company_name"] = _("Enter your company's name.")
    for field, value, limit in (
        ("company_name", company_name, COMPANY_NAME_MAX),
        ("vat_number", vat_number, NUMBER_MAX),
        ("tax_number", tax_number, NUMBER_MAX),
        ("phone", phone, NUMBER_MAX),
        ("message", message, MESSAGE_MAX),
    ):
        if field not in errors and (problem := _too_long(value, limit)):
            errors[field] = problem
    country_row = Country.objects.filter(code=code).first() if len(code) == 2 else None
    if country_row is None:
        errors["country"] = _("Choose your company's country.")

    normalised_vat, vat_note = "", ""
    if country_row is not None and "vat_number" not in errors:
        in_eu = code in EU_MEMBER_STATES
        if not vat_number and in_eu:
            errors["vat_number"] = _("Enter your company's VAT number: dealers in the EU need one.")
        elif not vat_number:
            if not tax_number:
                errors["tax_number"] = _("Enter your company's VAT number or its tax number.")
            vat_note = _("No VAT number given: the tax number is not checked automatically.")
        else:
            check, vat_note = _vat_checked(vat_number, country=code)
            if not check.valid:
                errors["vat_number"] = check.message
                if not in_eu and not tax_number:
                    errors["vat_number"] += " " + _(
                        "Outside the EU you may leave it empty and give your tax number instead."
                    )
            elif check.country != code:
                language = translation.get_language() or settings.LANGUAGE_CODE
                errors["vat_number"] = _(
                    "This VAT number is from %(number_country)s. Enter the VAT number your "
                    "company has in %(country)s, or choose %(number_country)s as its country."
                ) % {
                    "number_country": country_name(check.country, language),
                    "country": country_name(code, language),
                }
            else:
                normalised_vat = check.number
    if errors:
        raise DealerApplicationError(_("Please check the marked fields."), errors)
    assert country_row is not None

    try:
        with transaction.atomic():
            # One application at a time per customer: a second submit waits here.
            _may_apply_check(Customer.objects.select_for_update().get(pk=customer.pk), market)
            return DealerApplication.objects.create(
                customer=customer,
                market=market,
                company_name=company_name,
                vat_number=normalised_vat,
                tax_number=tax_number,
                country=country_row,
                phone=phone,
                message=message,
                vat_check_message=vat_note[:300],
            )
    except IntegrityError as error:  # the unique pending constraint, in a race
        raise DealerApplicationError(_pending_message()) from error


# ---------------------------------------------------------------------------
# Deciding


def _locked_pending(application: DealerApplication) -> DealerApplication:
    """The application, locked until the transaction ends, if it still waits for a
    decision (a second click finds it decided and changes nothing)."""
    locked = (
        DealerApplication.objects.select_for_update(of=("self",))
        .select_related("market__dealer_group", "decided_by")
        .get(pk=application.pk)
    )
    if locked.status != DealerApplication.Status.PENDING:
        decided = date_format(timezone.localtime(locked.decided_at), "SHORT_DATETIME_FORMAT")
        by = locked.decided_by.get_username() if locked.decided_by else "—"
        raise DealerApplicationError(
            _("This application was already %(status)s on %(date)s by %(user)s.")
            % {"status": locked.get_status_display(), "date": decided, "user": by}
        )
    return locked


def dealer_application_approve(
    *,
    application: DealerApplication,
    by: AbstractBaseUser | None,
    group: CustomerGroup | None = None,
) -> DealerApplication:
    """Approve: the customer joins ``group`` (default: the market's dealer group) and
    keeps the company name and the checked VAT number (else the tax number).

    Raises ``DealerApplicationError`` when the application is decided already or
    no group is known; then nothing changes. The customer is told after the commit.
    """
    with transaction.atomic():
        locked = _locked_pending(application)
        group = group or locked.market.dealer_group
        if group is None:
            raise DealerApplicationError(
                _(
                    "The market %(market)s has no dealer group. Choose one on the market's "
                    "page (field “dealer group”), then approve again."
                )
                % {"market": locked.market.name}
            )
        customer = Customer.objects.select_for_update().get(pk=locked.customer_id)
        customer.group = group
        customer.company_name = locked.company_name
        customer.tax_number = locked.vat_number or locked.tax_number
        customer.save(update_fields=["group", "company_name", "tax_number"])
        locked.status = DealerApplication.Status.APPROVED
        locked.group = group
        locked.decided_at = timezone.now()
        locked.decided_by_id = by.pk if by is not None else None
        locked.save(update_fields=["status", "group", "decided_at", "decided_by"])
        transaction.on_commit(lambda: _decision_announce(locked))
    logger.info(
        "Dealer application %s approved: customer %s joins %s", locked.pk, customer.pk, group
    )
    return locked


def dealer_application_reject(
    *, application: DealerApplication, by: AbstractBaseUser | None, note: str
) -> DealerApplication:
    """Reject with ``note``, the reason the customer reads; they may apply again.

    Raises ``DealerApplicationError`` without a reason or when the application is
    decided already; then nothing changes. The customer is told after the commit.
    """
    note = note.strip()
    if not note:
        raise DealerApplicationError(
            _("Give the reason: the customer reads it."),
            {"note": _("Give the reason: the customer reads it.")},
        )
    with transaction.atomic():
        locked = _locked_pending(application)
        locked.status = DealerApplication.Status.REJECTED
        locked.decision_note = note
        locked.decided_at = timezone.now()
        locked.decided_by_id = by.pk if by is not None else None
        locked.save(update_fields=["status", "decision_note", "decided_at", "decided_by"])
        transaction.on_commit(lambda: _decision_announce(locked))
    logger.info("Dealer application %s rejected", locked.pk)
    return locked
