"""The checkout section of ``make bench``: cart and order calls under load.

Run by ``bench/run.py`` after the pages, on its own gunicorn with the page
cache off, in the ``de-de`` storefront through the storefront JSON API:

- **add to cart**: ``POST /api/storefront/v1/carts/{id}/lines``, spread over
  many carts (at most three lines each, as a shopper's cart);
- **cart**: the HTML cart page ``/de-de/cart/`` (cart cookie) when the URL
  exists, and the API's ``GET /carts/{id}``, for carts of three lines with a
  Berlin address and a shipping method;
- **orders**: 20 parallel buyers, each creating a cart, adding a bench SKU,
  entering the Berlin address, listing and choosing a shipping method and
  checking out with bank transfer (the whole flow), then the checkout call
  alone on carts prepared beforehand;
- **contention**: 20 buyers checking out at once for the last 5 units of
  one variant: exactly 5 orders may be placed.

Afterwards no stock level may hold more reserved units than it has and the
units ordered in the run must all be reserved: ``oversold_units`` is 0.
The stock of the SKUs used is topped up before each run (reservations of
earlier runs are kept), so the bench can be run again and again.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from bench.measure import HOST, latency_summary, percentile

MARKET = "de-de"
API = "/api/storefront/v1"
CART_PAGE = f"/{MARKET}/cart/"
CART_COOKIE = "kervan_cart"
BENCH_PREFIX = "BENCH"
PAYMENT_METHOD = "bank-transfer"
BERLIN = {
    "first_name": "Erika",
    "last_name": "Mustermann",
    "email": "erika@example.com",
    "line1": "Unter den Linden 1",
    "city": "Berlin",
    "postal_code": "10117",
    "country": "DE",
}
SKUS = 12  # bench SKUs the carts are filled from
LINES_PER_CART = 3
STOCK_FREE = 100_000  # free units of each SKU at the start of a run
BUYERS = 20
CONTENTION_UNITS = 5
CART_POOL = 20  # carts the cart page is read from, in turn

TARGETS = {
    "cart": {"requests_per_second": 200, "queries": 12},
    "cart (API)": {"requests_per_second": 200, "queries": 12},
    "checkout": {"orders_per_second": 50, "oversold_units": 0},
}


@dataclass
class Call:
    """One measured call: requests per second, latency and queries per request."""

    name: str
    method: str
    path: str
    unit: str = "req"
    status: int = 0
    queries: int = 0
    sql_ms: float = 0.0
    requests: int = 0
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    seconds: float = 0.0
    requests_per_second: float = 0.0
    latency_ms: dict[str, float] = field(default_factory=dict)


@dataclass
class Contention:
    buyers: int
    units: int
    orders: int = 0
    refused_not_enough_stock: int = 0
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    units_left: int = 0
    oversold_units: int = 0


@dataclass
class Plan:
    """What the run buys: SKUs with plenty of stock and one with the last few units."""

    market_id: int
    pool_ids: tuple[int, ...]
    skus: list[str]
    variant_ids: list[int]
    contention_sku: str
    contention_variant_id: int
    cart_page: bool
    calls: list[Call] = field(default_factory=list)
    contention: Contention | None = None
    oversold_units: int = 0
    stock_drift: list[str] = field(default_factory=list)
    orders: int = 0


# Preparation, in-process


def prepare() -> Plan:
    """Choose bench SKUs sold in ``de-de`` and top up their stock (idempotent).

    Each SKU gets ``STOCK_FREE`` free units in the market's first pool; the
    contention SKU gets exactly ``CONTENTION_UNITS`` free units in all the
    market's pools together. Reservations already there are kept.
    """
    from django.urls import Resolver404, resolve

    from catalog.models import Variant
    from pricing.models import StockLevel
    from pricing.offers import Availability, PriceContext, offers_for
    from pricing.selectors import market_pricing
    from pricing.services import stock_set
    from shop.selectors import market_directory

    resolved = market_directory().resolve_prefix(MARKET)
    if resolved is None:
        raise SystemExit(f"No market serves /{MARKET}/: was seed_bench interrupted?")
    info, country, _language = resolved
    pool_ids = market_pricing(info.id).pool_ids
    if not pool_ids:
        raise SystemExit(f"The {info.code} market has no stock pool: was seed_bench interrupted?")
    context = PriceContext(
        market_id=info.id,
        country=country,
        currency=info.currency,
        prices_include_tax=info.prices_include_tax,
    )
    candidates = list(
        Variant.objects.filter(
            sku__startswith=f"{BENCH_PREFIX}-", is_active=True, allows_backorder=False
        ).order_by("sku")[: SKUS * 4]
    )
    offers = offers_for(candidates, context)
    sellable = [v for v in candidates if offers[v.pk].availability != Availability.NOT_SOLD]
    if len(sellable) < SKUS + 1:
        raise SystemExit(f"Fewer than {SKUS + 1} bench SKUs are sold in {MARKET}.")
    chosen, contended = sellable[:SKUS], sellable[SKUS]
    reserved = {
        (variant_id, pool_id): held
        for variant_id, pool_id, held in StockLevel.objects.filter(
            variant_id__in=[v.pk for v in [*chosen, contended]], pool_id__in=pool_ids
        ).values_list("variant_id", "pool_id", "reserved")
    }
    for variant in chosen:
        first = pool_ids[0]
        stock_set(
            variant=variant,
            pool_id=first,
            quantity=reserved.get((variant.pk, first), 0) + STOCK_FREE,
        )
    for position, pool_id in enumerate(pool_ids):
        extra = CONTENTION_UNITS if position == 0 else 0
        stock_set(
            variant=contended,
            pool_id=pool_id,
            quantity=reserved.get((contended.pk, pool_id), 0) + extra,
        )
    try:
        resolve(CART_PAGE)
        cart_page = True
    except Resolver404:
        cart_page = False
    return Plan(
        market_id=info.id,
        pool_ids=pool_ids,
        skus=[v.sku for v in chosen],
        variant_ids=[v.pk for v in chosen],
        contention_sku=contended.sku,
        contention_variant_id=contended.pk,
        cart_page=cart_page,
    )


def count_queries(plan: Plan) -> None:
    """Queries per call, in-process with Django's test client (second request of each)."""
    from django.db import connection
    from django.test import Client, override_settings
    from django.test.utils import CaptureQueriesContext

    client = Client(raise_request_exception=False)

    def call(method: str, path: str, body: object = None, token: str = "") -> Any:
        headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
        data = {} if body is None else {"data": json.dumps(body)}
        return getattr(client, method.lower())(
            path, content_type="application/json", **data, **headers
        )

    def measured(name: str, method: str, label: str, request: Callable[[], Any]) -> Any:
        with CaptureQueriesContext(connection) as captured:
            response = request()
        found = next((c for c in plan.calls if c.name == name), None)
        if found is None:
            found = Call(name=name, method=method, path=label)
            plan.calls.append(found)
        found.status = response.status_code
        found.queries = len(captured.captured_queries)
        found.sql_ms = round(sum(float(q["time"]) * 1000 for q in captured.captured_queries), 2)
        if response.status_code >= 300:
            print(f"  {name}: HTTP {response.status_code} in-process: {response.content[:300]!r}")
        return response

    def new_cart() -> tuple[int, str]:
        created = call("POST", f"{API}/carts", {"market": MARKET}).json()
        return created["id"], created["token"]

    with override_settings(STOREFRONT_CACHE_SECONDS=0):
        for _round in range(2):  # the second round's counts are reported (warm caches)
            cart_id, token = new_cart()
            lines = f"{API}/carts/{cart_id}/lines"
            for sku in plan.skus[: LINES_PER_CART - 1]:
                call("POST", lines, {"sku": sku}, token)
            measured(
                "add to cart",
                "POST",
                f"{API}/carts/{{id}}/lines",
                lambda lines=lines, token=token: call(
                    "POST", lines, {"sku": plan.skus[LINES_PER_CART - 1]}, token
                ),
            )
            cart = f"{API}/carts/{cart_id}"
            measured(
                "shipping address",
                "PUT",
                f"{API}/carts/{{id}}/shipping-address",
                lambda cart=cart, token=token: call(
                    "PUT", f"{cart}/shipping-address", BERLIN, token
                ),
            )
            methods = measured(
                "shipping methods",
                "GET",
                f"{API}/carts/{{id}}/shipping-methods",
                lambda cart=cart, token=token: call("GET", f"{cart}/shipping-methods", None, token),
            ).json()
            if not methods:
                raise SystemExit("No shipping method delivers the bench cart to Berlin.")
            measured(
                "shipping method",
                "PUT",
                f"{API}/carts/{{id}}/shipping-method",
                lambda cart=cart, token=token, chosen=methods[0]["id"]: call(
                    "PUT", f"{cart}/shipping-method", {"id": chosen}, token
                ),
            )
            if plan.cart_page:
                client.cookies[CART_COOKIE] = f"{cart_id}:{token}"
                measured("cart", "GET", CART_PAGE, lambda: client.get(CART_PAGE))
            measured(
                "cart (API)",
                "GET",
                f"{API}/carts/{{id}}",
                lambda cart=cart, token=token: call("GET", cart, None, token),
            )
            measured(
                "checkout",
                "POST",
                f"{API}/carts/{{id}}/checkout",
                lambda cart=cart, token=token: call(
                    "POST", f"{cart}/checkout", {"payment_method": PAYMENT_METHOD}, token
                ),
            )
    failed = [c for c in plan.calls if c.status >= 300]
    if failed:
        names = ", ".join(f"{c.name} (HTTP {c.status})" for c in failed)
        raise SystemExit(f"The checkout does not work on the bench catalogue: {names}")


# HTTP


class Client:
    """One keep-alive connection (reopened when gunicorn closes it)."""

    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection(HOST, port, timeout=30)

    def call(
        self,
        method: str,
        path: str,
        body: object = None,
        *,
        token: str = "",
        cookie: str = "",
    ) -> tuple[int, bytes]:
        headers = {"User-Agent": "kervan-bench", "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if cookie:
            headers["Cookie"] = cookie
            headers["Accept"] = "text/html"
        try:
            self.connection.request(method, path, body=data, headers=headers)
            response = self.connection.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException):
            self.connection.close()
            raise

    def close(self) -> None:
        self.connection.close()


class CallFailed(Exception):
    pass


def _expect(answer: tuple[int, bytes], status: int, what: str) -> Any:
    code, payload = answer
    if code != status:
        detail = ""
        with contextlib.suppress(ValueError, AttributeError):
            detail = json.loads(payload).get("code", "")
        raise CallFailed(f"{what}: HTTP {code}{' ' + detail if detail else ''}")
    return json.loads(payload) if payload else None


@dataclass
class Cart:
    id: int
    token: str

    @property
    def path(self) -> str:
        return f"{API}/carts/{self.id}"

    @property
    def cookie(self) -> str:
        return f"{CART_COOKIE}={self.id}:{self.token}"


def cart_create(client: Client) -> Cart:
    created = _expect(client.call("POST", f"{API}/carts", {"market": MARKET}), 201, "create cart")
    return Cart(created["id"], created["token"])


def line_add(client: Client, cart: Cart, sku: str, quantity: int = 1) -> None:
    body = {"sku": sku, "quantity": quantity}
    _expect(client.call("POST", f"{cart.path}/lines", body, token=cart.token), 201, "add line")


def cart_ready(client: Client, cart: Cart) -> None:
    """Berlin address, then the cheapest shipping method."""
    _expect(
        client.call("PUT", f"{cart.path}/shipping-address", BERLIN, token=cart.token),
        200,
        "shipping address",
    )
    methods = _expect(
        client.call("GET", f"{cart.path}/shipping-methods", token=cart.token),
        200,
        "shipping methods",
    )
    if not methods:
        raise CallFailed("shipping methods: none")
    _expect(
        client.call(
            "PUT", f"{cart.path}/shipping-method", {"id": methods[0]["id"]}, token=cart.token
        ),
        200,
        "shipping method",
    )


def checkout(client: Client, cart: Cart) -> tuple[int, bytes]:
    return client.call(
        "POST", f"{cart.path}/checkout", {"payment_method": PAYMENT_METHOD}, token=cart.token
    )


def order_place(client: Client, sku: str) -> None:
    """One buyer's whole flow for a unit of ``sku``: cart, line, address, method, checkout."""
    cart = cart_create(client)
    line_add(client, cart, sku)
    cart_ready(client, cart)
    _expect(checkout(client, cart), 201, "checkout")


Job = Callable[[Client], None]


def parallel(
    port: int, jobs: list[Job], concurrency: int, time_limit: float, *, together: bool = False
) -> tuple[list[float], list[str], float]:
    """Run ``jobs`` over ``concurrency`` connections until done or ``time_limit``.

    A job fails by raising (CallFailed, OSError…). Returns the latencies of the
    jobs that succeeded (ms), the errors, and the wall time. ``together``: each
    connection waits at a barrier before its first job (a race).
    """
    tickets = iter(jobs)
    lock = threading.Lock()
    latencies: list[float] = []
    errors: list[str] = []
    barrier = threading.Barrier(concurrency) if together else None
    started = time.perf_counter()
    deadline = started + time_limit

    def worker() -> None:
        client = Client(port)
        try:
            if barrier is not None:
                barrier.wait(timeout=60)
            while time.perf_counter() < deadline:
                with lock:
                    job = next(tickets, None)
                if job is None:
                    return
                sent = time.perf_counter()
                try:
                    job(client)
                    outcome = None
                except CallFailed as error:
                    outcome = str(error)
                except (OSError, http.client.HTTPException, ValueError) as error:
                    outcome = type(error).__name__
                elapsed = (time.perf_counter() - sent) * 1000
                with lock:
                    if outcome is None:
                        latencies.append(elapsed)
                    else:
                        errors.append(outcome)
        finally:
            client.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=time_limit + 95)
    return latencies, errors, time.perf_counter() - started


def _record(call: Call, latencies: list[float], errors: list[str], seconds: float) -> None:
    call.requests = len(latencies) + len(errors)
    call.errors = len(errors)
    call.error_samples = sorted(set(errors))[:5]
    call.seconds = round(seconds, 3)
    call.requests_per_second = round(len(latencies) / seconds, 1) if seconds else 0.0
    call.latency_ms = latency_summary(latencies)


def _carts(port: int, count: int, fill: Callable[[Client, Cart], None]) -> list[Cart]:
    """``count`` new carts, each passed to ``fill`` (not measured)."""
    carts: list[Cart] = []
    lock = threading.Lock()

    def make(client: Client) -> None:
        cart = cart_create(client)
        fill(client, cart)
        with lock:
            carts.append(cart)

    _latencies, errors, _seconds = parallel(port, [make] * count, BUYERS, 600)
    if errors:
        raise SystemExit(f"Preparing carts failed: {sorted(set(errors))[:3]}")
    return carts


# Load


def load(
    port: int,
    plan: Plan,
    *,
    requests: int,
    orders: int,
    warmup: int,
    concurrency: int,
    time_limit: float,
    report: Callable[[Call], None],
) -> None:
    """Measure every call of ``plan`` against the server on ``port``."""
    calls = {call.name: call for call in plan.calls}

    # Add to cart: request i adds SKU i // carts to cart i % carts (≤ 3 lines a cart).
    for count, measure in ((warmup, False), (requests, True)):
        if count <= 0:
            continue
        carts = _carts(port, math.ceil(count / LINES_PER_CART), lambda client, cart: None)

        def add(index: int, carts: list[Cart] = carts) -> Job:
            cart = carts[index % len(carts)]
            sku = plan.skus[index // len(carts) % len(plan.skus)]
            return lambda client: line_add(client, cart, sku)

        result = parallel(port, [add(i) for i in range(count)], concurrency, time_limit)
        if measure:
            _record(calls["add to cart"], *result)
            report(calls["add to cart"])

    # The cart, as the shopper reviews it before paying.
    def full(client: Client, cart: Cart) -> None:
        for sku in plan.skus[:LINES_PER_CART]:
            line_add(client, cart, sku)
        cart_ready(client, cart)

    pool = _carts(port, CART_POOL, full)
    readers: list[tuple[str, Callable[[Cart], Job]]] = [
        (
            "cart (API)",
            lambda cart: (
                lambda client: _expect(client.call("GET", cart.path, token=cart.token), 200, "cart")
            ),
        )
    ]
    if plan.cart_page:
        readers.insert(
            0,
            (
                "cart",
                lambda cart: (
                    lambda client: _expect_page(client.call("GET", CART_PAGE, cookie=cart.cookie))
                ),
            ),
        )
    for name, reader in readers:
        parallel(
            port, [reader(pool[i % len(pool)]) for i in range(warmup)], concurrency, time_limit
        )
        jobs = [reader(pool[i % len(pool)]) for i in range(requests)]
        _record(calls[name], *parallel(port, jobs, concurrency, time_limit))
        report(calls[name])

    # Orders: the whole buyer flow, then the checkout call alone.
    flow = Call(
        name="buyer flow",
        method="6 calls",
        path="create, add, address, methods, method, checkout",
        unit="order",
    )
    checkout_latencies: list[float] = []
    lock = threading.Lock()

    def buyer(index: int) -> Job:
        sku = plan.skus[index % len(plan.skus)]

        def run(client: Client) -> None:
            cart = cart_create(client)
            line_add(client, cart, sku)
            cart_ready(client, cart)
            sent = time.perf_counter()
            _expect(checkout(client, cart), 201, "checkout")
            with lock:
                checkout_latencies.append((time.perf_counter() - sent) * 1000)

        return run

    _record(flow, *parallel(port, [buyer(i) for i in range(orders)], BUYERS, time_limit * 3))
    flow.latency_ms["checkout_call_p50"] = (
        percentile(sorted(checkout_latencies), 50) if checkout_latencies else 0.0
    )
    plan.calls.append(flow)
    report(flow)

    def ready(client: Client, cart: Cart) -> None:
        line_add(client, cart, plan.skus[cart.id % len(plan.skus)])
        cart_ready(client, cart)

    prepared = _carts(port, orders, ready)
    order_call = calls["checkout"]
    order_call.unit = "order"
    jobs = [_checkout_job(cart) for cart in prepared]
    _record(order_call, *parallel(port, jobs, BUYERS, time_limit * 3))
    report(order_call)
    plan.orders = flow.requests - flow.errors + order_call.requests - order_call.errors


def _checkout_job(cart: Cart) -> Job:
    return lambda client: _expect(checkout(client, cart), 201, "checkout")


def contend(port: int, plan: Plan) -> Contention:
    """``BUYERS`` buyers check out one unit each, all at once, for the last few units."""
    result = Contention(buyers=BUYERS, units=CONTENTION_UNITS)

    def ready(client: Client, cart: Cart) -> None:
        line_add(client, cart, plan.contention_sku)
        cart_ready(client, cart)

    carts = _carts(port, BUYERS, ready)
    refused: list[str] = []
    lock = threading.Lock()

    def race(cart: Cart) -> Job:
        def run(client: Client) -> None:
            code, payload = checkout(client, cart)
            if code == 201:
                return
            detail = ""
            with contextlib.suppress(ValueError, AttributeError):
                detail = json.loads(payload).get("code", "")
            if code == 409 and detail == "not_enough_stock":
                with lock:
                    refused.append(detail)
                return
            raise CallFailed(f"checkout: HTTP {code} {detail}".strip())

        return run

    latencies, errors, _seconds = parallel(
        port, [race(cart) for cart in carts], BUYERS, 120, together=True
    )
    result.refused_not_enough_stock = len(refused)
    result.orders = len(latencies) - len(refused)
    result.errors = len(errors)
    result.error_samples = sorted(set(errors))[:5]
    plan.contention = result
    return result


# Stock after the run


def stock_snapshot(plan: Plan) -> dict[tuple[int, int], int]:
    """Reserved units per (variant, pool) of the SKUs the run buys."""
    from pricing.models import StockLevel

    return {
        (variant_id, pool_id): reserved
        for variant_id, pool_id, reserved in StockLevel.objects.filter(
            variant_id__in=[*plan.variant_ids, plan.contention_variant_id]
        ).values_list("variant_id", "pool_id", "reserved")
    }


def last_order_id() -> int:
    from orders.models import Order

    return Order.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def oversold(plan: Plan, before: dict[tuple[int, int], int], since_order_id: int) -> int:
    """Units sold that the stock did not hold; 0 when the checkout is sound.

    Counts, for every stock level without backorder, the reserved units beyond
    its quantity; and for each (variant, pool) the run bought from, the units
    of the run's orders not covered by the reservations the run added.
    """
    from django.db.models import F, Sum

    from orders.models import OrderLine, OrderStatus
    from orders.selectors import stock_drift
    from pricing.models import StockLevel

    beyond = (
        StockLevel.objects.filter(allows_backorder=False, reserved__gt=F("quantity")).aggregate(
            units=Sum(F("reserved") - F("quantity"))
        )["units"]
        or 0
    )
    after = stock_snapshot(plan)
    ordered = (
        OrderLine.objects.filter(order_id__gt=since_order_id)
        .exclude(order__status=OrderStatus.CANCELLED)
        .values("variant_id", "ship_from_pool_id")
        .annotate(units=Sum("quantity"))
        .values_list("variant_id", "ship_from_pool_id", "units")
    )
    uncovered = 0
    contention_units = 0
    for variant_id, pool_id, units in ordered:
        added = after.get((variant_id, pool_id), 0) - before.get((variant_id, pool_id), 0)
        uncovered += max(0, int(units) - max(added, 0))
        if variant_id == plan.contention_variant_id:
            contention_units += int(units)
    plan.oversold_units = int(beyond) + uncovered
    plan.stock_drift = [
        f"{drift.sku} @ {drift.pool_code}: reserved {drift.reserved}, "
        f"open reservations {drift.open_reservations}"
        for drift in stock_drift()
    ][:10]
    if plan.contention is not None:
        free = StockLevel.objects.filter(
            variant_id=plan.contention_variant_id, pool_id__in=plan.pool_ids
        ).aggregate(free=Sum(F("quantity") - F("reserved")))["free"]
        plan.contention.units_left = int(free or 0)
        plan.contention.oversold_units = max(0, contention_units - CONTENTION_UNITS)
    return plan.oversold_units


# Report


def results(plan: Plan, *, buyers: int = BUYERS) -> dict[str, Any]:
    return {
        "market": MARKET,
        "payment_method": PAYMENT_METHOD,
        "skus": plan.skus,
        "cart_page": CART_PAGE if plan.cart_page else None,
        "buyers": buyers,
        "calls": [asdict(call) for call in plan.calls],
        "orders_placed": plan.orders,
        "oversold_units": plan.oversold_units,
        "stock_drift": plan.stock_drift,
        "contention": asdict(plan.contention) if plan.contention else None,
        "targets": TARGETS,
    }


def table(plan: Plan) -> str:
    header = (
        f"{'checkout ' + MARKET:18} {'per s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} "
        f"{'errors':>6} {'queries':>7}  target"
    )
    lines = [header, "-" * len(header)]
    for call in plan.calls:
        if not call.requests:
            continue
        target = TARGETS.get(call.name, {})
        wanted = []
        if "requests_per_second" in target:
            wanted.append(f"≥{target['requests_per_second']} req/s")
        if "orders_per_second" in target:
            wanted.append(f"≥{target['orders_per_second']} orders/s")
        if "queries" in target:
            wanted.append(f"≤{target['queries']} q")
        latency = call.latency_ms
        queries = f"{call.queries:7d}" if call.status else f"{'':>7}"
        lines.append(
            f"{call.name + (' (orders)' if call.unit == 'order' else ''):18} "
            f"{call.requests_per_second:7.1f} {latency.get('p50', 0):7.1f} "
            f"{latency.get('p95', 0):7.1f} {latency.get('p99', 0):7.1f} {call.errors:6d} "
            f"{queries}  {', '.join(wanted)}"
        )
    lines.append(
        f"{plan.orders} orders with {BUYERS} parallel buyers; oversold units: "
        f"{plan.oversold_units} (target 0)"
        + (f"; stock drift: {len(plan.stock_drift)}" if plan.stock_drift else "")
    )
    race = plan.contention
    if race is not None:
        lines.append(
            f"contention: {race.buyers} buyers for the last {race.units} units of "
            f"{plan.contention_sku}: {race.orders} orders, {race.refused_not_enough_stock} "
            f"refused (not enough stock), {race.errors} errors, {race.units_left} units left, "
            f"oversold {race.oversold_units}"
        )
    return "\n".join(lines)


def failed(plan: Plan) -> bool:
    """True when a call failed, stock was oversold or the race placed other than 5 orders."""
    race = plan.contention
    return (
        any(call.errors for call in plan.calls)
        or plan.oversold_units > 0
        or race is None
        or race.orders != CONTENTION_UNITS
        or race.errors > 0
    )


def _expect_page(answer: tuple[int, bytes]) -> None:
    code, _payload = answer
    if code != 200:
        raise CallFailed(f"cart page: HTTP {code}")
