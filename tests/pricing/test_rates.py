"""Exchange rates: the update_rates command, its Celery task, history and derived prices."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from catalog.models import Product, ProductType, TaxClass, Variant
from pricing.models import ExchangeRate, PriceEntry, PriceList, Rounding
from pricing.rates import RatesDownloadError, RatesError, latest_rates
from pricing.services import price_set
from pricing.tasks import update_exchange_rates

ECB = "http://www.ecb.int/vocabulary/2002-08-01/eurofxref"
DEMO_RATES = {
    "USD": "1.0800",
    "JPY": "162.50",
    "GBP": "0.85000",
    "CHF": "0.9400",
    "SEK": "11.2000",
    "PLN": "4.2500",
    "TRY": "37.5000",
    "CAD": "1.5000",
}


def ecb_document(day: str, rates: dict[str, str]) -> bytes:
    """An eurofxref-daily document as the ECB publishes it."""
    cubes = "".join(
        f"<Cube currency='{currency}' rate='{rate}'/>" for currency, rate in rates.items()
    )
    return (
        "<?xml version='1.0' encoding='UTF-8'?>"
        "<gesmes:Envelope xmlns:gesmes='http://www.gesmes.org/xml/2002-08-01'"
        f" xmlns='{ECB}'>"
        "<gesmes:subject>Reference rates</gesmes:subject>"
        f"<Cube><Cube time='{day}'>{cubes}</Cube></Cube>"
        "</gesmes:Envelope>"
    ).encode()


def rates_file(directory: Path, document: bytes) -> Path:
    path = directory / "eurofxref-daily.xml"
    path.write_bytes(document)
    return path


def update_rates(*arguments: str) -> tuple[str, str]:
    """Run the command; return what it wrote to stdout and stderr."""
    stdout, stderr = StringIO(), StringIO()
    call_command("update_rates", *arguments, stdout=stdout, stderr=stderr)
    return stdout.getvalue(), stderr.getvalue()


def stored_rates() -> list[tuple[str, Decimal, date, str]]:
    return list(
        ExchangeRate.objects.order_by("effective_date", "currency").values_list(
            "currency", "rate", "effective_date", "source"
        )
    )


def stored_prices() -> list[tuple[str, str, Decimal, bool]]:
    return list(
        PriceEntry.objects.order_by("price_list__code", "variant__sku").values_list(
            "price_list__code", "variant__sku", "amount", "is_manual"
        )
    )


def price_in(price_list: PriceList, variant: Variant) -> Decimal:
    return PriceEntry.objects.get(price_list=price_list, variant=variant).amount


@dataclass
class RatesServer:
    """A local HTTP server answering every GET with the next queued response."""

    url: str
    responses: list[tuple[int, bytes]] = field(default_factory=list)
    hits: int = 0


@pytest.fixture
def rates_server(settings) -> Iterator[RatesServer]:
    """Serves ECB documents on 127.0.0.1; ECB_RATES_URL points at it."""
    server_state: RatesServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            server_state.hits += 1
            responses = server_state.responses
            status, body = responses.pop(0) if len(responses) > 1 else responses[0]
            self.send_response(status)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    host, port = server.server_address[:2]
    server_state = RatesServer(url=f"http://{host!s}:{port}/eurofxref-daily.xml")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.ECB_RATES_URL = server_state.url
    yield server_state
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def closed_port_url(settings) -> str:
    """ECB_RATES_URL points at a local port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.ECB_RATES_URL = f"http://127.0.0.1:{port}/eurofxref-daily.xml"
    return settings.ECB_RATES_URL


@pytest.fixture
def t_shirt(demo_price_lists: dict[str, PriceList]) -> Variant:
    """A standard-rated variant at EUR 29.90 (German VAT included) on eur-retail."""
    product = Product.objects.create(
        product_type=ProductType.objects.create(name="T-shirt"),
        tax_class=TaxClass.objects.get(code="standard"),
    )
    variant = Variant.objects.create(product=product, sku="TEE-BLACK-M")
    price_set(
        price_list=demo_price_lists["eur-retail"], variant_id=variant.pk, amount=Decimal("29.90")
    )
    return variant


def test_rates_from_a_file_are_stored_exactly(db, tmp_path):
    path = rates_file(tmp_path, ecb_document("2026-11-21", {"USD": "1.0835", "JPY": "163.12"}))

    output, warnings = update_rates("--file", str(path))

    assert stored_rates() == [
        ("JPY", Decimal("163.12000000"), date(2026, 11, 21), "ecb"),
        ("USD", Decimal("1.08350000"), date(2026, 11, 21), "ecb"),
    ]
    assert output == (
        "Exchange rates of 2026-11-21 stored: 2 currencies.\nNo derived price lists to recompute.\n"
    )
    assert warnings == ""


def test_the_same_day_again_updates_its_rates_in_place(db, tmp_path):
    update_rates("--file", str(rates_file(tmp_path, ecb_document("2026-11-21", {"USD": "1.08"}))))

    update_rates("--file", str(rates_file(tmp_path, ecb_document("2026-11-21", {"USD": "1.09"}))))

    assert stored_rates() == [("USD", Decimal("1.09"), date(2026, 11, 21), "ecb")]


def test_a_later_day_adds_to_the_history(db, tmp_path):
    update_rates("--file", str(rates_file(tmp_path, ecb_document("2026-11-20", {"USD": "1.08"}))))

    update_rates("--file", str(rates_file(tmp_path, ecb_document("2026-11-23", {"USD": "1.11"}))))

    assert stored_rates() == [
        ("USD", Decimal("1.08"), date(2026, 11, 20), "ecb"),
        ("USD", Decimal("1.11"), date(2026, 11, 23), "ecb"),
    ]
    assert latest_rates() == {"EUR": Decimal(1), "USD": Decimal("1.11")}


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        pytest.param(
            b"<html><body>Service unavailable</html>",
            "not well-formed XML (mismatched tag: line 1, column 33)",
            id="not-xml",
        ),
        pytest.param(
            ecb_document("2026-11-21", DEMO_RATES).replace(b" time='2026-11-21'", b""),
            "no <Cube time='YYYY-MM-DD'> element: not an ECB reference rates file",
            id="no-date",
        ),
        pytest.param(
            ecb_document("2026-11-21", {**DEMO_RATES, "USD": "abc"}),
            "rate 'abc' for USD is not a number",
            id="rate-not-a-number",
        ),
        pytest.param(
            ecb_document("2026-11-21", {**DEMO_RATES, "USD": "-1.2000"}),
            "rate '-1.2000' for USD must be a positive number",
            id="negative-rate",
        ),
        pytest.param(
            b"",
            "not well-formed XML (no element found: line 1, column 0)",
            id="empty",
        ),
    ],
)
def test_an_unusable_file_changes_nothing(t_shirt, tmp_path, document, reason):
    rates_before, prices_before = stored_rates(), stored_prices()
    path = rates_file(tmp_path, document)

    with pytest.raises(CommandError) as raised:
        update_rates("--file", str(path))

    assert str(raised.value) == f"Rates not updated: {reason}"
    assert stored_rates() == rates_before
    assert stored_prices() == prices_before


def test_a_missing_file_changes_nothing(db, tmp_path):
    path = tmp_path / "missing.xml"

    with pytest.raises(CommandError) as raised:
        update_rates("--file", str(path))

    assert str(raised.value) == f"Rates not updated: cannot read {path}: No such file or directory"
    assert stored_rates() == []


def test_rates_are_downloaded_from_the_configured_url(db, rates_server):
    rates_server.responses = [(200, ecb_document("2026-11-21", {"USD": "1.0835"}))]

    output, _warnings = update_rates()

    assert rates_server.hits == 1
    assert stored_rates() == [("USD", Decimal("1.0835"), date(2026, 11, 21), "ecb")]
    assert output.startswith("Exchange rates of 2026-11-21 stored: 1 currency.\n")


def test_a_server_error_changes_nothing(t_shirt, rates_server):
    rates_before, prices_before = stored_rates(), stored_prices()
    rates_server.responses = [(500, b"Internal error")]

    with pytest.raises(CommandError) as raised:
        update_rates()

    assert str(raised.value) == (
        f"Rates not updated: could not download {rates_server.url}: "
        "HTTP Error 500: Internal Server Error"
    )
    assert stored_rates() == rates_before
    assert stored_prices() == prices_before


def test_an_unreachable_server_changes_nothing(t_shirt, closed_port_url):
    rates_before, prices_before = stored_rates(), stored_prices()

    with pytest.raises(CommandError) as raised:
        update_rates()

    assert str(raised.value) == (
        f"Rates not updated: could not download {closed_port_url}: "
        "<urlopen error [Errno 111] Connection refused>"
    )
    assert stored_rates() == rates_before
    assert stored_prices() == prices_before


def test_derived_prices_follow_new_rates_but_manual_prices_stay(
    demo_price_lists, t_shirt, tmp_path
):
    # Given: EUR 29.90 gross is 25.1260… net of 19 % VAT; at USD 1.0800 that
    # is 27.1361…, which the .99 rule lifts to 27.99. A hoodie has a price set
    # by hand on the US list.
    eur_retail, usd_retail = demo_price_lists["eur-retail"], demo_price_lists["usd-retail"]
    assert price_in(usd_retail, t_shirt) == Decimal("27.99")
    hoodie = Variant.objects.create(product=t_shirt.product, sku="HOODIE-GREY-L")
    price_set(price_list=eur_retail, variant_id=hoodie.pk, amount=Decimal("59.90"))
    price_set(price_list=usd_retail, variant_id=hoodie.pk, amount=Decimal("64.00"))
    path = rates_file(tmp_path, ecb_document("2026-11-23", {**DEMO_RATES, "USD": "1.2000"}))

    # When
    output, warnings = update_rates("--file", str(path))

    # Then: 25.1260… × 1.2000 = 30.1512…, lifted to 30.99.
    assert price_in(usd_retail, t_shirt) == Decimal("30.99")
    assert PriceEntry.objects.get(price_list=usd_retail, variant=hoodie).is_manual is True
    assert price_in(usd_retail, hoodie) == Decimal("64.00")
    assert output == (
        "Exchange rates of 2026-11-23 stored: 8 currencies.\n"
        "eur-dealer: 2 derived prices updated.\n"
        "gbp-retail: 2 derived prices updated.\n"
        "usd-retail: 1 derived price updated.\n"
    )
    assert warnings == ""


def test_a_list_without_a_rate_is_reported_and_the_others_follow(
    demo_price_lists, t_shirt, tmp_path
):
    PriceList.objects.create(
        code="isk-retail",
        name="Icelandic króna retail",
        currency="ISK",
        includes_tax=False,
        source=demo_price_lists["eur-retail"],
        rounding=Rounding.WHOLE,
    )
    path = rates_file(tmp_path, ecb_document("2026-11-23", {**DEMO_RATES, "USD": "1.2000"}))

    output, warnings = update_rates("--file", str(path))

    assert warnings == (
        "isk-retail: prices not recomputed, "
        "no exchange rate for ISK: run update_rates or add one by hand.\n"
    )
    assert output == (
        "Exchange rates of 2026-11-23 stored: 8 currencies.\n"
        "eur-dealer: 1 derived price updated.\n"
        "gbp-retail: 1 derived price updated.\n"
        "usd-retail: 1 derived price updated.\n"
    )
    assert price_in(demo_price_lists["usd-retail"], t_shirt) == Decimal("30.99")
    assert not PriceEntry.objects.filter(price_list__code="isk-retail").exists()


def test_a_pinned_manual_rate_outlives_newer_reference_rates(demo_price_lists, tmp_path):
    ExchangeRate.objects.create(
        currency="USD",
        rate=Decimal("1.1000"),
        effective_date=date(2026, 11, 1),
        source=ExchangeRate.Source.MANUAL,
        is_pinned=True,
    )
    path = rates_file(tmp_path, ecb_document("2026-11-23", {**DEMO_RATES, "USD": "1.2000"}))

    update_rates("--file", str(path))

    assert latest_rates()["USD"] == Decimal("1.1000")
    assert ExchangeRate.objects.get(currency="USD", effective_date=date(2026, 11, 23)).rate == (
        Decimal("1.2000")
    )


def test_the_task_downloads_the_rates_and_returns_a_summary(t_shirt, rates_server):
    rates_server.responses = [(200, ecb_document("2026-11-23", {**DEMO_RATES, "USD": "1.2"}))]

    summary = update_exchange_rates()

    assert summary == {
        "date": "2026-11-23",
        "currencies": 8,
        "derived_prices_updated": {"eur-dealer": 1, "gbp-retail": 1, "usd-retail": 1},
        "problems": {},
    }
    assert price_in(PriceList.objects.get(code="usd-retail"), t_shirt) == Decimal("30.99")


def test_the_task_tries_again_after_a_network_error(db, rates_server):
    rates_server.responses = [
        (503, b"Service unavailable"),
        (200, ecb_document("2026-11-23", {"USD": "1.2000"})),
    ]

    result = update_exchange_rates.apply()

    assert result.successful()
    assert rates_server.hits == 2
    assert stored_rates() == [("USD", Decimal("1.2000"), date(2026, 11, 23), "ecb")]


def test_the_task_gives_up_after_five_retries(db, rates_server):
    rates_server.responses = [(503, b"Service unavailable")]

    result = update_exchange_rates.apply()

    assert result.failed()
    assert isinstance(result.result, RatesDownloadError)
    assert rates_server.hits == 6  # the first attempt and five retries
    assert stored_rates() == []


def test_the_task_does_not_retry_an_unusable_document(db, rates_server):
    rates_server.responses = [(200, b"<html>Maintenance</html>")]

    result = update_exchange_rates.apply()

    assert result.failed()
    assert type(result.result) is RatesError
    assert (
        str(result.result) == "no <Cube time='YYYY-MM-DD'> element: not an ECB reference rates file"
    )
    assert rates_server.hits == 1
