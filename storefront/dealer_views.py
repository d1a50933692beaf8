"""The account's dealer page: apply for a dealer account, see how the application
stands, and, once approved, where dealer prices apply.

Every rule is checked by ``pricing.dealers``; this page collects the fields and
shows its messages next to them.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from pricing.dealers import (
    DealerApplicationError,
    dealer_application_latest,
    dealer_application_submit,
    dealer_price_markets,
    is_dealer,
)
from shop.models import Customer, DealerApplication, Market
from storefront.accounts import customer_of
from storefront.address_form import AddressField, country_choices

FIELDS = ("company_name", "country", "vat_number", "tax_number", "phone", "message")
VALUE_MAX = 10_000  # beyond every limit: the service still says what is too long


def _initial_values(
    customer: Customer, rejected: DealerApplication | None, country: str
) -> dict[str, str]:
    """A new form starts from the customer's profile, or after a rejection from the
    rejected application, so the customer corrects what they sent."""
    if rejected is not None:
        return {
            "company_name": rejected.company_name,
            "country": rejected.country_id,
            "vat_number": rejected.vat_number,
            "tax_number": rejected.tax_number,
            "phone": rejected.phone,
            "message": "",
        }
    return {
        "company_name": customer.company_name,
        "country": country,
        "vat_number": "",
        "tax_number": "",
        "phone": customer.phone,
        "message": "",
    }


def _form_fields(
    values: dict[str, str], errors: dict[str, str], choices: list[tuple[str, str]]
) -> list[AddressField]:
    def make(name: str, label: str, **options: object) -> AddressField:
        return AddressField(
            name=name,
            label=label,
            value=values.get(name, ""),
            error=errors.get(name, ""),
            **options,  # type: ignore[arg-type]
        )

    return [
        make("company_name", _("Company"), required=True, autocomplete="organization"),
        make(
            "country",
            _("Country of the company"),
            kind="select",
            required=True,
            autocomplete="country",
            choices=[("", _("Choose…")), *choices],
        ),
        make(
            "vat_number",
            _("VAT number"),
            help=_(
                "Required in the EU, for example DE123456789. We check it as at checkout: "
                "with a valid number, EU orders from another country are invoiced without VAT "
                "(reverse charge)."
            ),
        ),
        make(
            "tax_number",
            _("Tax number (optional)"),
            help=_("Outside the EU, if your company has no VAT number."),
        ),
        make("phone", _("Phone (optional)"), kind="tel", autocomplete="tel"),
        make(
            "message",
            _("Message (optional)"),
            kind="textarea",
            help=_("What you sell, where, and anything else we should know."),
        ),
    ]


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def dealer_application(request: HttpRequest) -> HttpResponse:
    """Apply for a dealer account in the visitor's market, or see the application."""
    language = getattr(request, "LANGUAGE_CODE", "") or settings.LANGUAGE_CODE
    context = request.market_context  # type: ignore[attr-defined]
    market = Market.objects.select_related("dealer_group").get(pk=context.market.id)
    customer = customer_of(request.user, language)
    choices = country_choices(language)
    latest = dealer_application_latest(customer)
    pending = latest if latest is not None and latest.status == latest.Status.PENDING else None
    rejected = latest if latest is not None and latest.status == latest.Status.REJECTED else None
    values = _initial_values(customer, rejected, context.country)
    errors: dict[str, str] = {}
    problem = ""
    if request.method == "POST":
        values = {name: str(request.POST.get(name, ""))[:VALUE_MAX] for name in FIELDS}
        offered = {code for code, _name in choices}
        try:
            dealer_application_submit(
                customer=customer,
                market=market,
                company_name=values["company_name"],
                vat_number=values["vat_number"],
                tax_number=values["tax_number"],
                country=values["country"] if values["country"] in offered else "",
                phone=values["phone"],
                message=values["message"],
            )
        except DealerApplicationError as error:
            errors, problem = error.errors, error.message
        else:
            messages.success(
                request, _("Thank you: we have received your application and will answer soon.")
            )
            return redirect("account-dealer")
    dealer = is_dealer(customer, market)
    return render(
        request,
        "storefront/account_dealer.html",
        {
            "is_dealer": dealer,
            "dealer_markets": dealer_price_markets(customer.group_id) if dealer else [],
            "pending": pending,
            "rejected": rejected,
            "show_form": not dealer and pending is None,
            "fields": _form_fields(values, errors, choices),
            "problem": problem,
            "section": "dealer",
            "noindex": True,
        },
    )
