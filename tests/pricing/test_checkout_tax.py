"""Tax at checkout: rates by destination, OSS, reverse charge, exports, rounding, engines."""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
import stripe
from django.test import override_settings
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.models import TaxClass
from pricing.checkout_tax import (
    InvalidVatNumber,
    TaxableItem,
    TaxEngineError,
    checkout_tax,
    vat_number_check,
)
from pricing.models import PriceList, TaxRate
from pricing.tax import MissingTaxRate
from shop.models import Country, Seller

D = Decimal
VALID_DE = "DE136695976"
VALID_FR = "FR40303265045"
VALID_NL = "NL004495445B01"
VALID_GR = "EL094014201"
REVERSE_CHARGE_NOTE = (
    "Reverse charge: VAT to be accounted for by the recipient (Article 196 Directive 2006/112/EC)."
)


@pytest.fixture
def classes(demo_price_lists: dict[str, PriceList]) -> dict[str, int]:
    """Demo tax classes (standard/reduced/zero) with the demo's VAT and US state rates."""
    return dict(TaxClass.objects.values_list("code", "id"))


@pytest.fixture
def seller_eu(classes: dict[str, int]) -> Seller:
    """Kervan Europe B.V.: Netherlands, OSS and IOSS registered."""
    return Seller.objects.get(code="kervan-eu")


@pytest.fixture
def seller_tr(classes: dict[str, int]) -> Seller:
    return Seller.objects.get(code="kervan-tr")


def tee(
    amount: str = "59.80", *, key: str = "line:1", gross: bool = True, **kwargs: Any
) -> TaxableItem:
    """Two KRV-TEE-M (standard class: None means "standard")."""
    return TaxableItem(
        key=key, tax_class_id=None, amount=D(amount), amount_includes_tax=gross, **kwargs
    )


# --- inside the seller's VAT area -----------------------------------------------------------


def test_german_consumer_pays_german_vat_inside_the_gross_price(seller_eu: Seller) -> None:
    # given 2 × KRV-TEE-M at 29.90 EUR incl. VAT, to Berlin
    # when
    quote = checkout_tax(seller=seller_eu, destination_country="DE", items=[tee()], currency="EUR")
    # then
    line = quote.item("line:1")
    assert (line.rate, line.category) == (D("19.00"), "S")
    assert (line.net, line.tax, line.gross) == (D("50.25"), D("9.55"), D("59.80"))
    assert (quote.net, quote.tax, quote.gross) == (D("50.25"), D("9.55"), D("59.80"))
    # the seller is Dutch: German VAT goes through the One-Stop Shop
    assert quote.notes == ("VAT of Germany declared through the One-Stop Shop (OSS).",)
    assert not quote.reverse_charge and not quote.export and quote.vat_number == ""


def test_french_consumer_pays_french_vat_through_the_one_stop_shop(seller_eu: Seller) -> None:
    quote = checkout_tax(seller=seller_eu, destination_country="FR", items=[tee()], currency="EUR")

    line = quote.item("line:1")
    assert (line.rate, line.category) == (D("20.00"), "S")
    assert (line.net, line.tax, line.gross) == (D("49.83"), D("9.97"), D("59.80"))
    assert quote.notes == ("VAT of France declared through the One-Stop Shop (OSS).",)


def test_reduced_and_zero_classes_and_net_items(seller_eu: Seller, classes: dict[str, int]) -> None:
    items = [
        TaxableItem("line:1", classes["reduced"], D("10.70"), True),
        TaxableItem("line:2", classes["zero"], D("12.00"), True),
        TaxableItem("shipping", None, D("4.96"), False),
    ]
    quote = checkout_tax(seller=seller_eu, destination_country="DE", items=items, currency="EUR")

    assert quote.item("line:1") == quote.item("line:1").__class__(
        "line:1", D("7.00"), "S", D("10.00"), D("0.70"), D("10.70")
    )
    assert (quote.item("line:2").category, quote.item("line:2").tax) == ("Z", D("0.00"))
    shipping = quote.item("shipping")
    assert (shipping.net, shipping.tax, shipping.gross) == (D("4.96"), D("0.94"), D("5.90"))


def test_turkish_seller_sells_domestically_with_turkish_vat(seller_tr: Seller) -> None:
    quote = checkout_tax(
        seller=seller_tr,
        destination_country="TR",
        items=[tee("1999.80")],
        currency="TRY",
    )
    assert (quote.net, quote.tax, quote.gross) == (D("1666.50"), D("333.30"), D("1999.80"))


def test_validity_period_of_the_rate_is_respected(
    seller_eu: Seller, classes: dict[str, int]
) -> None:
    # given German VAT was 16 % in the second half of 2020
    TaxRate.objects.create(
        tax_class_id=classes["standard"],
        country_id="DE",
        valid_from=date(2020, 7, 1),
        valid_to=date(2020, 12, 31),
        rate=D("16"),
    )
    quote = checkout_tax(
        seller=seller_eu,
        destination_country="DE",
        items=[tee("11.60")],
        currency="EUR",
        on=date(2020, 9, 1),
    )
    assert (quote.item("line:1").rate, quote.net) == (D("16.00"), D("10.00"))


# --- reverse charge ---------------------------------------------------------------------------


@pytest.mark.parametrize(("country", "number"), [("FR", VALID_FR), ("DE", "de 136.695.976")])
def test_business_in_another_eu_country_gets_reverse_charge(
    seller_eu: Seller, country: str, number: str
) -> None:
    shipping = TaxableItem("shipping", None, D("5.90"), True)
    quote = checkout_tax(
        seller=seller_eu,
        destination_country=country,
        items=[tee(), shipping],
        currency="EUR",
        vat_number=number,
    )

    assert quote.reverse_charge
    assert quote.vat_number in {VALID_FR, VALID_DE}
    assert quote.notes == (REVERSE_CHARGE_NOTE,)
    for item in quote.items:
        assert (item.rate, item.category, item.tax) == (D("0.00"), "AE", D("0.00"))
        assert item.net == item.gross
    # the gross price loses the destination's VAT: FR 59.80 / 1.20, DE 59.80 / 1.19
    assert quote.item("line:1").net == {"FR": D("49.83"), "DE": D("50.25")}[country]


def test_greek_vat_numbers_use_the_el_prefix(seller_eu: Seller, classes: dict[str, int]) -> None:
    Country.objects.get_or_create(code="GR", defaults={"name": "Greece"})
    TaxRate.objects.update_or_create(
        tax_class_id=classes["standard"],
        country_id="GR",
        region=None,
        valid_from=date(2016, 6, 1),
        defaults={"rate": 24},
    )
    quote = checkout_tax(
        seller=seller_eu,
        destination_country="GR",
        items=[tee("12.40")],
        currency="EUR",
        vat_number="GR 094014201",
    )
    assert quote.reverse_charge and quote.vat_number == VALID_GR
    assert quote.item("line:1").net == D("10.00")


def test_business_in_the_sellers_own_country_pays_vat(seller_eu: Seller) -> None:
    quote = checkout_tax(
        seller=seller_eu,
        destination_country="NL",
        items=[tee()],
        currency="EUR",
        vat_number=VALID_NL,
    )
    assert not quote.reverse_charge
    assert quote.vat_number == VALID_NL
    assert (quote.item("line:1").rate, quote.item("line:1").category) == (D("21.00"), "S")
    assert quote.tax == D("10.38")
    assert quote.notes == ()  # a domestic sale needs no note


def test_vat_number_of_another_country_than_the_destination_is_no_reverse_charge(
    seller_eu: Seller,
) -> None:
    quote = checkout_tax(
        seller=seller_eu,
        destination_country="FR",
        items=[tee()],
        currency="EUR",
        vat_number=VALID_DE,
    )
    assert not quote.reverse_charge and quote.tax == D("9.97")


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("DE136695977", "This VAT number is not valid: its check digit is wrong."),
        ("DE1366", "This VAT number has the wrong length for Germany."),
        ("XX123", "Start the VAT number"),
    ],
)
def test_invalid_vat_number_is_refused_with_a_message(
    seller_eu: Seller, number: str, message: str
) -> None:
    with pytest.raises(InvalidVatNumber) as refused:
        checkout_tax(
            seller=seller_eu,
            destination_country="FR",
            items=[tee()],
            currency="EUR",
            vat_number=number,
        )
    # "XX…" has no known VAT rules; a number without a prefix takes the destination's
    if number.startswith("XX"):
        assert refused.value.message == "VAT numbers of XX cannot be checked here."
    else:
        assert refused.value.message == message


def test_vat_number_without_prefix_takes_the_country() -> None:
    check = vat_number_check("136 695 976", country="DE")
    assert (check.valid, check.number, check.country) == (True, VALID_DE, "DE")
    assert not vat_number_check("", country="DE").valid
    assert not vat_number_check("136695976").valid


def test_a_turkish_tax_number_is_checked_without_a_country_prefix() -> None:
    check = vat_number_check("123 456 7890", country="TR")

    assert (check.valid, check.number, check.country) == (True, "1234567890", "TR")
    assert not vat_number_check("1234567891", country="TR").valid


# --- across a customs border -------------------------------------------------------------------


def test_new_york_sales_tax_on_a_net_dollar_price(seller_eu: Seller) -> None:
    # given a net USD price shipping from Rotterdam, duties and tax collected at checkout
    items = [tee("32.99", gross=False, crosses_border=True)]
    quote = checkout_tax(
        seller=seller_eu,
        destination_country="US",
        destination_region="US-NY",
        items=items,
        currency="USD",
        import_vat_at_checkout=True,
    )
    line = quote.item("line:1")
    assert (line.rate, line.category) == (D("4.00"), "S")
    assert (line.net, line.tax, line.gross) == (D("32.99"), D("1.32"), D("34.31"))
    assert quote.notes == ("Sales tax of US-NY collected by the seller.",)
    # "NY" alone means the state of the destination country
    short = checkout_tax(
        seller=seller_eu,
        destination_country="us",
        destination_region="ny",
        items=items,
        currency="USD",
    )
    assert short == quote


def test_export_to_the_uk_is_zero_rated_when_vat_is_paid_on_delivery(seller_eu: Seller) -> None:
    # given a GBP price that includes UK VAT, over 135 GBP: import VAT on delivery
    items = [
        tee("149.99", crosses_border=True),
        TaxableItem("shipping", None, D("6.00"), True, crosses_border=True),
    ]
    quote = checkout_tax(
        seller=seller_eu,
        destination_country="GB",
        items=items,
        currency="GBP",
        import_vat_at_checkout=False,
    )
    assert quote.export and not quote.reverse_charge
    line = quote.item("line:1")
    assert (line.rate, line.category) == (D("0.00"), "G")
    assert (line.net, line.tax, line.gross) == (D("124.99"), D("0.00"), D("124.99"))
    assert quote.item("shipping").net == D("5.00")
    assert quote.notes == (
        "Export outside the EU: VAT 0 % (Article 146 Directive 2006/112/EC); "
        "import taxes are due on delivery.",
    )


def test_uk_vat_collected_at_checkout_up_to_the_threshold(seller_eu: Seller) -> None:
    quote = checkout_tax(
        seller=seller_eu,
        destination_country="GB",
        items=[tee("24.00", crosses_border=True)],
        currency="GBP",
        import_vat_at_checkout=True,
    )
    assert (quote.net, quote.tax, quote.gross) == (D("20.00"), D("4.00"), D("24.00"))
    assert quote.notes == ("UK VAT collected by the seller at the point of sale.",)
    assert not quote.export


def test_import_into_the_eu_under_ioss(seller_tr: Seller, seller_eu: Seller) -> None:
    # an EU seller shipping from a stock pool outside the EU: IOSS, destination VAT
    quote = checkout_tax(
        seller=seller_eu,
        destination_country="DE",
        items=[tee(crosses_border=True)],
        currency="EUR",
    )
    assert quote.tax == D("9.55")
    assert quote.notes == (
        "Import VAT collected at checkout under the Import One-Stop Shop "
        "(IOSS number IM5280000012).",
    )
    # without import VAT at checkout the buyer pays it at import: not subject to VAT here
    on_delivery = checkout_tax(
        seller=seller_eu,
        destination_country="DE",
        items=[tee(crosses_border=True)],
        currency="EUR",
        import_vat_at_checkout=False,
    )
    assert (on_delivery.item("line:1").category, on_delivery.tax) == ("O", D("0.00"))
    assert not on_delivery.export
    # a Turkish seller exporting to Germany without IOSS: export outside Türkiye
    export = checkout_tax(
        seller=seller_tr,
        destination_country="DE",
        items=[tee(crosses_border=True)],
        currency="EUR",
        import_vat_at_checkout=False,
    )
    assert export.export
    assert export.notes == ("Export outside Türkiye: VAT 0 %; import taxes are due on delivery.",)


# --- missing rates -----------------------------------------------------------------------------


def test_missing_rate_stops_the_sale_and_is_logged(
    seller_eu: Seller, caplog: pytest.LogCaptureFixture
) -> None:
    # given no Swiss rates at all
    caplog.set_level(logging.ERROR, logger="pricing.checkout_tax")
    with pytest.raises(MissingTaxRate) as missing:
        checkout_tax(
            seller=seller_eu,
            destination_country="CH",
            items=[tee("10.00", gross=False, crosses_border=True)],
            currency="CHF",
        )
    assert (missing.value.country, missing.value.region) == ("CH", "")
    assert "No tax rate is set" in missing.value.message
    assert "No tax rate for tax class" in caplog.text


def test_net_export_needs_no_rate_but_gross_export_does(
    seller_eu: Seller, classes: dict[str, int]
) -> None:
    item = TaxableItem("line:1", None, D("10.00"), False, crosses_border=True)
    quote = checkout_tax(
        seller=seller_eu,
        destination_country="CH",
        items=[item],
        currency="CHF",
        import_vat_at_checkout=False,
    )
    assert (quote.item("line:1").category, quote.gross) == ("G", D("10.00"))
    with pytest.raises(MissingTaxRate):
        checkout_tax(
            seller=seller_eu,
            destination_country="CH",
            items=[tee("10.00", crosses_border=True)],
            currency="CHF",
            import_vat_at_checkout=False,
        )


def test_bad_input_is_refused(seller_eu: Seller) -> None:
    with pytest.raises(ValueError, match="own key"):
        checkout_tax(
            seller=seller_eu, destination_country="DE", items=[tee(), tee()], currency="EUR"
        )
    with pytest.raises(ValueError, match="alpha-2"):
        checkout_tax(seller=seller_eu, destination_country="Germany", items=[tee()], currency="EUR")


# --- rounding ---------------------------------------------------------------------------------

amounts = st.decimals(min_value=D("-500"), max_value=D("100000"), places=3)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    lines=st.lists(
        st.tuples(
            amounts, st.booleans(), st.sampled_from(["standard", "reduced", "zero"]), st.booleans()
        ),
        min_size=1,
        max_size=6,
    ),
    destination=st.sampled_from([("DE", ""), ("FR", ""), ("US", "US-NY"), ("GB", "")]),
    currency=st.sampled_from(["EUR", "USD", "JPY", "KWD"]),
    import_vat=st.booleans(),
)
def test_rounding_always_adds_up(
    seller_eu: Seller,
    classes: dict[str, int],
    lines: list[tuple[Decimal, bool, str, bool]],
    destination: tuple[str, str],
    currency: str,
    import_vat: bool,
) -> None:
    country, region = destination
    if country == "US":  # the demo has no zero-class rows for US states
        lines = [(a, g, "standard" if c == "zero" else c, x) for a, g, c, x in lines]
    items = [
        TaxableItem(f"line:{n}", classes[code], amount, gross, crosses_border=crosses)
        for n, (amount, gross, code, crosses) in enumerate(lines)
    ]
    quote = checkout_tax(
        seller=seller_eu,
        destination_country=country,
        destination_region=region,
        items=items,
        currency=currency,
        import_vat_at_checkout=import_vat,
    )
    exponent = {"EUR": -2, "USD": -2, "JPY": 0, "KWD": -3}[currency]
    for item, source in zip(quote.items, items, strict=True):
        assert item.net + item.tax == item.gross
        assert all(v.as_tuple().exponent == exponent for v in (item.net, item.tax, item.gross))
        if source.amount_includes_tax:
            assert item.gross in {
                source.amount.quantize(D(1).scaleb(exponent), "ROUND_HALF_UP"),
                item.net,
            }
        else:
            assert item.net == source.amount.quantize(D(1).scaleb(exponent), "ROUND_HALF_UP")
    assert quote.net == sum(item.net for item in quote.items)
    assert quote.tax == sum(item.tax for item in quote.items)
    assert quote.gross == sum(item.gross for item in quote.items)
    assert quote.net + quote.tax == quote.gross


# --- VIES -------------------------------------------------------------------------------------


@dataclass
class FakeServer:
    url: str
    requests: list[tuple[str, str, dict[str, str], bytes]] = field(default_factory=list)
    answers: dict[str, Any] = field(default_factory=dict)


@pytest.fixture
def fake_server() -> Iterator[FakeServer]:
    """A local HTTP server answering like VIES's REST API and Stripe's tax calculations."""
    server_state = FakeServer(url="")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _answer(self, status: int, body: Any) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            server_state.requests.append(("POST", self.path, dict(self.headers), body))
            if self.path == "/vies/check-vat-number":
                query = json.loads(body)
                answer = server_state.answers.get("vies", {"valid": True})
                self._answer(
                    200,
                    {
                        "countryCode": query["countryCode"],
                        "vatNumber": query["vatNumber"],
                        "requestDate": "2026-12-01T10:00:00.000Z",
                        "requestIdentifier": "",
                        "name": "---",
                        "address": "---",
                        **answer,
                    },
                )
            elif self.path == "/v1/tax/calculations":
                status, calculation = stripe_calculation(
                    dict(parse_qsl(body.decode())), server_state.answers
                )
                if status == 200:
                    server_state.answers["last_lines"] = calculation.pop("_line_items")
                    server_state.answers["last_calculation"] = calculation
                self._answer(status, calculation)
            else:
                self._answer(404, {"error": "not found"})

        def do_GET(self) -> None:
            server_state.requests.append(("GET", self.path, dict(self.headers), b""))
            calculation = server_state.answers.get("last_calculation")
            if calculation and self.path.startswith(
                f"/v1/tax/calculations/{calculation['id']}/line_items"
            ):
                self._answer(200, server_state.answers["last_lines"])
            else:
                self._answer(
                    404, {"error": {"type": "invalid_request_error", "message": "No such"}}
                )

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server_state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server_state
    server.shutdown()
    server.server_close()


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_vies_confirms_a_registered_number(fake_server: FakeServer) -> None:
    with override_settings(VIES_CHECK_ENABLED=True, VIES_API_URL=f"{fake_server.url}/vies"):
        check = vat_number_check("el 094 014 201")
    assert (check.valid, check.number, check.country) == (True, VALID_GR, "GR")
    assert check.message == "Verified in VIES."
    _method, path, headers, body = fake_server.requests[0]
    assert path == "/vies/check-vat-number"
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"countryCode": "EL", "vatNumber": "094014201"}


def test_vies_refuses_an_unregistered_number(fake_server: FakeServer, seller_eu: Seller) -> None:
    fake_server.answers["vies"] = {"valid": False}
    with override_settings(VIES_CHECK_ENABLED=True, VIES_API_URL=f"{fake_server.url}/vies"):
        assert not vat_number_check(VALID_FR).valid
        with pytest.raises(InvalidVatNumber, match="not registered in the EU's VIES"):
            checkout_tax(
                seller=seller_eu,
                destination_country="FR",
                items=[tee()],
                currency="EUR",
                vat_number=VALID_FR,
            )


def test_format_valid_number_is_accepted_unverified_when_vies_is_unreachable(
    seller_eu: Seller, caplog: pytest.LogCaptureFixture, fake_server: FakeServer
) -> None:
    caplog.set_level(logging.WARNING, logger="pricing.checkout_tax")
    with override_settings(VIES_CHECK_ENABLED=True, VIES_API_URL=closed_port_url()):
        check = vat_number_check(VALID_FR)
        quote = checkout_tax(
            seller=seller_eu,
            destination_country="FR",
            items=[tee()],
            currency="EUR",
            vat_number=VALID_FR,
        )
    assert check.valid and "not verified yet" in check.message
    assert quote.reverse_charge
    assert "VIES unavailable" in caplog.text
    # a member state's service down answers 200 without "valid": also unverified
    fake_server.answers["vies"] = {
        "actionSucceed": False,
        "errorWrappers": [{"error": "MS_UNAVAILABLE"}],
    }
    fake_server.answers["vies"]["valid"] = None
    with override_settings(VIES_CHECK_ENABLED=True, VIES_API_URL=f"{fake_server.url}/vies"):
        assert "not verified yet" in vat_number_check(VALID_FR).message


def test_vies_is_off_by_default(fake_server: FakeServer) -> None:
    assert vat_number_check(VALID_FR).valid
    assert fake_server.requests == []


# --- Stripe Tax -------------------------------------------------------------------------------

STRIPE_RATES = {
    ("DE", ""): ("19.0", "Germany"),
    ("FR", ""): ("20.0", "France"),
    ("US", "NY"): ("4.0", "New York"),
}


def stripe_calculation(form: dict[str, str], answers: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """A tax.calculation object as Stripe answers POST /v1/tax/calculations."""
    country = form.get("customer_details[address][country]", "")
    state = form.get("customer_details[address][state]", "")
    if (country, state) not in STRIPE_RATES:
        return 400, {
            "error": {
                "type": "invalid_request_error",
                "code": "customer_tax_location_invalid",
                "message": "We could not determine the customer's tax location.",
            }
        }
    percentage, place = STRIPE_RATES[(country, state)]
    rate = Decimal(percentage)
    lines: list[dict[str, Any]] = []
    n = 0
    while f"line_items[{n}][amount]" in form:
        amount = int(form[f"line_items[{n}][amount]"])
        inclusive = form[f"line_items[{n}][tax_behavior]"] == "inclusive"
        if inclusive:
            taxable = int((amount * 100 / (100 + rate)).quantize(D(1), "ROUND_HALF_UP"))
            tax = amount - taxable
        else:
            taxable = amount
            tax = int((amount * rate / 100).quantize(D(1), "ROUND_HALF_UP"))
        lines.append(
            {
                "id": f"tax_li_{n}",
                "object": "tax.calculation_line_item",
                "amount": amount,
                "amount_tax": tax,
                "livemode": False,
                "metadata": {},
                "product": None,
                "quantity": int(form.get(f"line_items[{n}][quantity]", "1")),
                "reference": form[f"line_items[{n}][reference]"],
                "tax_behavior": "inclusive" if inclusive else "exclusive",
                "tax_breakdown": [
                    {
                        "amount": tax,
                        "jurisdiction": {
                            "country": country,
                            "display_name": place,
                            "level": "state" if state else "country",
                            "state": state or None,
                        },
                        "sourcing": "destination",
                        "tax_rate_details": {
                            "display_name": "Sales Tax" if state else "VAT",
                            "percentage_decimal": percentage,
                            "tax_type": "sales_tax" if state else "vat",
                        },
                        "taxability_reason": "standard_rated",
                        "taxable_amount": taxable,
                    }
                ],
                "tax_code": form[f"line_items[{n}][tax_code]"],
            }
        )
        n += 1
    calculation_id = f"taxcalc_{len(answers) + 1:04d}"
    listed = {
        "object": "list",
        "data": lines,
        "has_more": False,
        "url": f"/v1/tax/calculations/{calculation_id}/line_items",
    }
    expanded = any(
        value.startswith("line_items") for key, value in form.items() if key.startswith("expand")
    )
    inclusive_tax = sum(line["amount_tax"] for line in lines if line["tax_behavior"] == "inclusive")
    exclusive_tax = sum(line["amount_tax"] for line in lines if line["tax_behavior"] == "exclusive")
    return 200, {
        "id": calculation_id,
        "object": "tax.calculation",
        "amount_total": sum(line["amount"] for line in lines) + exclusive_tax,
        "currency": form["currency"],
        "customer": None,
        "customer_details": {
            "address": {
                "city": None,
                "country": country,
                "line1": None,
                "line2": None,
                "postal_code": None,
                "state": state or None,
            },
            "address_source": "shipping",
            "ip_address": None,
            "tax_ids": [],
            "taxability_override": "none",
        },
        "expires_at": 1796000000,
        "line_items": listed if expanded and not answers.get("ignore_expand") else None,
        "livemode": False,
        "ship_from_details": None,
        "shipping_cost": None,
        "tax_amount_exclusive": exclusive_tax,
        "tax_amount_inclusive": inclusive_tax,
        "tax_breakdown": [],
        "tax_date": 1795000000,
        "_line_items": listed,
    }


@pytest.fixture
def stripe_engine(fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeServer]:
    monkeypatch.setattr(stripe, "api_base", stripe.api_base)  # restored after the test
    with override_settings(
        TAX_ENGINE="stripe",
        STRIPE_SECRET_KEY="sk_test_kervan",
        STRIPE_API_BASE=fake_server.url,
        STRIPE_TAX_CODES={"standard": "txcd_99999999", "reduced": "txcd_20030000"},
    ):
        yield fake_server


def test_stripe_tax_engine_charges_stripes_tax(
    stripe_engine: FakeServer, seller_eu: Seller, classes: dict[str, int]
) -> None:
    items = [
        tee(),
        TaxableItem("line:2", classes["reduced"], D("10.00"), False),
        tee("0", key="fee"),
    ]
    quote = checkout_tax(seller=seller_eu, destination_country="DE", items=items, currency="EUR")

    line = quote.item("line:1")
    assert (line.rate, line.category, line.net, line.tax, line.gross) == (
        D("19.00"),
        "S",
        D("50.25"),
        D("9.55"),
        D("59.80"),
    )
    second = quote.item("line:2")
    assert (second.net, second.tax, second.gross) == (D("10.00"), D("1.90"), D("11.90"))
    assert quote.item("fee").gross == D("0.00")
    assert quote.net + quote.tax == quote.gross
    # one form-encoded calculation, as the official library sends it
    [(method, path, headers, body)] = stripe_engine.requests
    form = dict(parse_qsl(body.decode()))
    assert (method, path) == ("POST", "/v1/tax/calculations")
    assert headers["Authorization"] == "Bearer sk_test_kervan"
    assert form["currency"] == "eur"
    assert form["customer_details[address][country]"] == "DE"
    assert form["line_items[0][amount]"] == "5980"
    assert form["line_items[0][tax_behavior]"] == "inclusive"
    assert form["line_items[0][reference]"] == "line:1"
    assert form["line_items[1][tax_code]"] == "txcd_20030000"
    assert form["line_items[1][tax_behavior]"] == "exclusive"
    assert "line_items[2][amount]" not in form


def test_stripe_tax_engine_reads_line_items_when_not_expanded(
    stripe_engine: FakeServer, seller_eu: Seller
) -> None:
    stripe_engine.answers["ignore_expand"] = True
    quote = checkout_tax(
        seller=seller_eu,
        destination_country="US",
        destination_region="US-NY",
        items=[
            tee("32.99", gross=False, crosses_border=True),
            tee("-5.00", key="discount", gross=False, crosses_border=True),
        ],
        currency="USD",
    )
    assert (quote.item("line:1").tax, quote.item("line:1").rate) == (D("1.32"), D("4.00"))
    assert (quote.item("discount").net, quote.item("discount").tax) == (D("-5.00"), D("-0.20"))
    assert quote.notes == ("Sales tax of US-NY collected by the seller.",)
    assert [(m, p.split("?")[0]) for m, p, _h, _b in stripe_engine.requests][1] == (
        "GET",
        "/v1/tax/calculations/taxcalc_0002/line_items",
    )


def test_stripe_tax_engine_keeps_reverse_charge(
    stripe_engine: FakeServer, seller_eu: Seller
) -> None:
    quote = checkout_tax(
        seller=seller_eu,
        destination_country="FR",
        items=[tee()],
        currency="EUR",
        vat_number=VALID_FR,
    )
    assert quote.reverse_charge
    assert (quote.item("line:1").category, quote.item("line:1").net, quote.tax) == (
        "AE",
        D("49.83"),
        D("0.00"),
    )


def test_stripe_tax_engine_errors_are_clear(
    stripe_engine: FakeServer, seller_eu: Seller, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="pricing.checkout_tax")
    with pytest.raises(TaxEngineError) as failed:
        checkout_tax(seller=seller_eu, destination_country="AT", items=[tee()], currency="EUR")
    assert "could not be calculated" in failed.value.message
    assert "customer's tax location" in caplog.text


@pytest.mark.skipif(
    not (Path(__file__).resolve().parents[2] / "locale/de/LC_MESSAGES/django.mo").exists(),
    reason="translations not compiled (make messages)",
)
def test_notes_and_messages_follow_the_active_language(seller_eu: Seller) -> None:
    with translation.override("de"):
        quote = checkout_tax(
            seller=seller_eu,
            destination_country="FR",
            items=[tee()],
            currency="EUR",
            vat_number=VALID_FR,
        )
        check = vat_number_check("DE136695977")
    assert quote.notes == (
        "Steuerschuldnerschaft des Leistungsempfängers (Reverse Charge): Die Umsatzsteuer "
        "schuldet der Empfänger (Artikel 196 Richtlinie 2006/112/EG).",
    )
    assert check.message == "Diese USt-IdNr. ist ungültig: Die Prüfziffer stimmt nicht."
    with translation.override("fr"):
        export = checkout_tax(
            seller=seller_eu,
            destination_country="GB",
            items=[tee("149.99", crosses_border=True)],
            currency="GBP",
            import_vat_at_checkout=False,
        )
    assert export.notes[0].startswith("Exportation hors de l'UE : TVA 0 % (article 146")
