"""Storefront load benchmark: ``make bench`` (or ``python bench/run.py --help``).

Seeds the bench catalogue once, serves it with gunicorn (production settings,
DEBUG off) on a free loopback port, sends a fixed number of requests per page
with a fixed concurrency and a time cap, counts each page's database queries
in-process, then writes ``bench/results/latest.json`` and prints a table.
Every page is measured twice: rendered (page cache off, what a signed-in
shopper or a cache miss costs) and with the anonymous page cache on. Then
the checkout (``bench/checkout.py``) and the long tail of distinct listing
URLs asked once each (``bench/longtail.py``), each on a gunicorn of its own,
and the build of the ``de-de`` Google feed in a child process (``bench/feeds.py``).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import checkout as checkout_bench
from bench import feeds as feeds_bench
from bench import listing as listing_bench
from bench import longtail
from bench.measure import HOST, get_all, latency_summary

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
BENCH_DATABASE = "kervan_bench"
BENCH_PREFIX = "BENCH"

MARKETS = ("de-de", "en-us")
ROOT_CATEGORY = "clothing"
SEARCH_TERMS = {"de": "baumwolle", "en": "cotton", "tr": "pamuk", "fr": "coton"}
PAGES = ("home", "category", "product", "search")
PAGE_CACHE_MODES = ("off", "on")
SECTIONS = ("pages", "checkout", "listing", "longtail", "feeds")

# From the project brief: django-oscar on comparable hardware, and our targets.
REFERENCE = {
    "django-oscar": {
        "category": {"requests_per_second": 6, "queries": 129},
        "product": {"requests_per_second": 100, "queries": 19},
    },
}
TARGETS = {
    "category": {"requests_per_second": 250, "queries": 10},
    "product": {"requests_per_second": 300, "queries": 10},
    "home": {"queries": 10},
    "search": {"queries": 10},
}


@dataclass
class Page:
    market: str
    page: str
    path: str
    page_cache: str
    status: int = 0
    queries: int = 0
    queries_first_request: int = 0
    sql_ms: float = 0.0
    slowest_query_ms: float = 0.0
    slowest_query: str = ""
    bytes: int = 0
    requests: int = 0
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    seconds: float = 0.0
    requests_per_second: float = 0.0
    latency_ms: dict[str, float] = field(default_factory=dict)


def main(argv: list[str] | None = None) -> int:
    options = _arguments(argv)
    signal.signal(signal.SIGTERM, _terminate)
    _prepare_environment(options)

    import django

    django.setup()
    from django.db import connections

    started = datetime.now(UTC)
    load_before = os.getloadavg()
    if load_before[0] > (os.cpu_count() or 1) / 2:
        print(f"Load average {load_before[0]:.2f} before the run: other work may skew the numbers.")
    with _phase("Database and catalogue"):
        seed_seconds = _seed_once(options.products)
    pages = _pages(_page_cache_modes()) if "pages" in options.sections else []
    if pages:
        with _phase("Queries per page (in-process)"):
            _count_queries(pages)
    connections.close_all()

    for mode in PAGE_CACHE_MODES:
        measured = [page for page in pages if page.page_cache == mode]
        if not measured:
            continue
        extra = {"STOREFRONT_CACHE_SECONDS": "0"} if mode == "off" else {}
        server = _Gunicorn(workers=options.workers, environment=extra)
        with _phase(f"Load with the page cache {mode}"):
            try:
                server.start()
                for page in measured:
                    _load(server.port, page, options)
                    print(
                        f"  {page.market:6} {page.page:9} {page.requests_per_second:7.1f} req/s"
                        f"  p95 {page.latency_ms.get('p95', 0):7.1f} ms  errors {page.errors}",
                        flush=True,
                    )
            finally:
                server.stop()

    plan = _checkout(options) if "checkout" in options.sections else None
    rebuilds = None
    if "listing" in options.sections:
        with _phase("Listing table after bulk changes (in-process)"):
            rebuilds = listing_bench.run()
        connections.close_all()
    tail = _longtail(options) if "longtail" in options.sections else None
    feed_run = None
    if "feeds" in options.sections:
        with _phase("Google feed of de-de (child process)"):
            feed_run = feeds_bench.run()

    results = _results(options, pages, started, load_before, seed_seconds)
    if plan is not None:
        results["checkout"] = checkout_bench.results(plan)
    if rebuilds is not None:
        results["listing"] = listing_bench.results(rebuilds)
    if tail is not None:
        results["longtail"] = longtail.results(tail)
    if feed_run is not None:
        results["feeds"] = feeds_bench.results(feed_run)
    output = Path(options.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print()
    if pages:
        print(_table(pages))
    if plan is not None:
        print()
        print(checkout_bench.table(plan))
    if rebuilds is not None:
        print()
        print(listing_bench.table(rebuilds))
    if tail is not None:
        print()
        print(longtail.table(tail))
    if feed_run is not None:
        print()
        print(feeds_bench.table(feed_run))
    print(f"\nWritten to {output.relative_to(ROOT) if output.is_relative_to(ROOT) else output}")
    failed = any(page.errors or page.status != 200 for page in pages)
    failed = failed or (plan is not None and checkout_bench.failed(plan))
    failed = failed or (feed_run is not None and feeds_bench.failed(feed_run))
    return 1 if failed or (tail is not None and longtail.failed(tail)) else 0


def _checkout(options: argparse.Namespace) -> checkout_bench.Plan:
    """The checkout section: add to cart, the cart, orders with parallel buyers, a race."""
    from django.db import connections

    with _phase("Checkout: stock and queries per call (in-process)"):
        plan = checkout_bench.prepare()
        checkout_bench.count_queries(plan)
        before = checkout_bench.stock_snapshot(plan)
        since = checkout_bench.last_order_id()
    connections.close_all()

    def report(call: checkout_bench.Call) -> None:
        unit = "orders/s" if call.unit == "order" else "req/s"
        print(
            f"  {call.name:16} {call.requests_per_second:7.1f} {unit:8}"
            f"  p95 {call.latency_ms.get('p95', 0):7.1f} ms  errors {call.errors}",
            flush=True,
        )

    server = _Gunicorn(workers=options.workers, environment={"STOREFRONT_CACHE_SECONDS": "0"})
    with _phase("Checkout load (page cache off)"):
        try:
            server.start()
            checkout_bench.load(
                server.port,
                plan,
                requests=options.requests,
                orders=options.orders,
                warmup=options.warmup,
                concurrency=options.concurrency,
                time_limit=options.time_limit,
                report=report,
            )
            race = checkout_bench.contend(server.port, plan)
            print(
                f"  contention: {race.orders} orders for the last {race.units} units "
                f"({race.refused_not_enough_stock} refused, {race.errors} errors)",
                flush=True,
            )
        finally:
            server.stop()
    checkout_bench.oversold(plan, before, since)
    return plan


def _longtail(options: argparse.Namespace) -> longtail.LongTail:
    """The long-tail section: distinct listing URLs, each asked once, while orders are placed."""
    from django.db import connections

    with _phase("Long tail: URLs from the catalogue (in-process)"):
        _page_cache_modes()  # says so when the page cache is off
        catalogue = longtail.snapshot()
        skus = checkout_bench.prepare().skus if options.longtail_orders > 0 else []
    connections.close_all()
    run = longtail.LongTail(
        urls=options.longtail_urls,
        seed=options.longtail_seed,
        markets=[storefront.prefix for storefront in catalogue.storefronts],
        concurrency=options.longtail_concurrency,
        time_limit_seconds=options.longtail_time_limit,
        products=options.products,
    )
    server = _Gunicorn(workers=options.workers, environment={})
    with _phase("Long-tail load (page cache on)"):
        try:
            server.start()
            longtail.load(
                server.port, catalogue, run, skus=skus, orders_per_second=options.longtail_orders
            )
            print(
                f"  {run.requests} URLs {run.requests_per_second:7.1f} req/s"
                f"  p99 {run.latency_ms.get('p99', 0):7.1f} ms  errors {run.errors}",
                flush=True,
            )
        finally:
            server.stop()
    return run


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--products", type=int, default=20000, help="bench catalogue size")
    parser.add_argument("--requests", type=int, default=500, help="measured requests per page")
    parser.add_argument("--concurrency", type=int, default=4, help="client connections")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured requests per page")
    parser.add_argument(
        "--time-limit", type=float, default=20.0, help="seconds at most per page (cap)"
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument(
        "--orders",
        type=int,
        default=200,
        help="orders placed by the parallel buyers, for the whole flow and again for "
        "the checkout call alone",
    )
    parser.add_argument(
        "--sections",
        nargs="+",
        choices=SECTIONS,
        default=list(SECTIONS),
        help="what to measure (default: all)",
    )
    parser.add_argument(
        "--longtail-urls",
        type=int,
        default=longtail.URLS,
        help="distinct listing and search URLs of the long tail, each asked once",
    )
    parser.add_argument(
        "--longtail-concurrency",
        type=int,
        default=longtail.CONNECTIONS,
        help="client connections of the long tail",
    )
    parser.add_argument(
        "--longtail-time-limit",
        type=float,
        default=longtail.TIME_LIMIT,
        help="seconds at most for the long tail (cap)",
    )
    parser.add_argument(
        "--longtail-orders",
        type=float,
        default=longtail.ORDERS_PER_SECOND,
        help="orders per second placed during the long tail (0: none)",
    )
    parser.add_argument(
        "--longtail-seed", type=int, default=longtail.SEED, help="seed of the long-tail URLs"
    )
    parser.add_argument("--output", default=str(RESULTS_DIR / "latest.json"))
    parser.add_argument(
        "--fresh",
        action="store_true",
        help=f"drop and re-seed the embedded {BENCH_DATABASE} database first",
    )
    options = parser.parse_args(argv)
    for name in (
        "products",
        "requests",
        "concurrency",
        "workers",
        "orders",
        "longtail_urls",
        "longtail_concurrency",
    ):
        if getattr(options, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if not 0 < options.time_limit <= 300:
        parser.error("--time-limit must be between 0 and 300 seconds")
    if not 0 < options.longtail_time_limit <= 600:
        parser.error("--longtail-time-limit must be between 0 and 600 seconds")
    if options.longtail_orders < 0:
        parser.error("--longtail-orders cannot be negative")
    if options.warmup < 0:
        parser.error("--warmup cannot be negative")
    return options


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def _phase(title: str) -> Iterator[None]:
    print(f"{title}…", flush=True)
    started = time.monotonic()
    yield
    print(f"  {title}: {time.monotonic() - started:.1f} s", flush=True)


def _page_cache_modes() -> list[str]:
    """Both modes, or only "off" when the anonymous page cache is switched off."""
    from django.conf import settings

    if getattr(settings, "STOREFRONT_CACHE_SECONDS", 0):
        return list(PAGE_CACHE_MODES)
    print("The page cache is off (STOREFRONT_CACHE_SECONDS=0): measuring rendering only.")
    return ["off"]


def _prepare_environment(options: argparse.Namespace) -> None:
    """Production settings on the bench database and a throwaway cache; children inherit it."""
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "shop.settings.production",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": f"{HOST},localhost,testserver",
            "SECURE_SSL_REDIRECT": "false",
            "LOG_LEVEL": "WARNING",
        }
    )
    from shop.embedded import DATABASE_NAME_VARIABLE, ensure_local_services, start_redis

    if not os.environ.get("REDIS_URL"):
        # A cache of its own: the bench never sees or clears development keys.
        os.environ["REDIS_URL"] = start_redis(None, throwaway=True)
    if os.environ.get("DATABASE_URL"):
        if options.fresh:
            raise SystemExit("--fresh only drops the embedded bench database; unset DATABASE_URL")
        return
    os.environ[DATABASE_NAME_VARIABLE] = BENCH_DATABASE
    ensure_local_services()
    if options.fresh:
        _database_recreate(os.environ["DATABASE_URL"])


def _database_recreate(url: str) -> None:
    """Drop and create the embedded bench database (nothing else may be using it)."""
    from urllib.parse import parse_qs, urlsplit

    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if name != BENCH_DATABASE:
        raise SystemExit(f"--fresh refuses to drop {name!r}")
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    print(f"Dropping the {name} database…", flush=True)
    with psycopg.connect(
        dbname="postgres", user="postgres", host=query["host"], port=query["port"], autocommit=True
    ) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _seed_once(products: int) -> float | None:
    """Migrate, collect static files and seed unless the catalogue is there; seed seconds."""
    from django.core.management import call_command

    from catalog.models import Product

    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    present = (
        Product.objects.filter(variants__sku__startswith=f"{BENCH_PREFIX}-", variants__position=0)
        .distinct()
        .count()
    )
    if present >= products:
        print(f"Bench catalogue already seeded ({present} products).", flush=True)
        return None
    print(f"Seeding the bench catalogue ({present} of {products} products present)…", flush=True)
    started = time.monotonic()
    call_command("seed_bench", products=products)
    return round(time.monotonic() - started, 1)


def _pages(modes: list[str]) -> list[Page]:
    """Home, the root category, one product and a search, in each bench market and mode."""
    from catalog.categories import category_tree
    from catalog.models import ProductTranslation, Variant
    from shop.selectors import market_directory

    directory = market_directory()
    tree = category_tree()
    category = next(node for node in tree.nodes.values() if node.code == ROOT_CATEGORY)
    product_id = (
        Variant.objects.filter(sku__startswith=f"{BENCH_PREFIX}-00001")
        .values_list("product_id", flat=True)
        .first()
    )
    if product_id is None:
        raise SystemExit("No bench product found: was seed_bench interrupted?")
    slugs = dict(
        ProductTranslation.objects.filter(product_id=product_id).values_list("language", "slug")
    )
    pages: list[Page] = []
    for prefix in MARKETS:
        resolved = directory.resolve_prefix(prefix)
        if resolved is None:
            raise SystemExit(f"No market serves /{prefix}/: was seed_bench interrupted?")
        _market, _country, language = resolved
        text = category.text(language)
        paths = {
            "home": f"/{prefix}/",
            "category": f"/{prefix}/c/{text.slug if text else category.code}/",
            "product": f"/{prefix}/p/{slugs[language]}/",
            "search": f"/{prefix}/search/?q={SEARCH_TERMS[language]}",
        }
        pages.extend(
            Page(market=prefix, page=name, path=paths[name], page_cache=mode)
            for mode in modes
            for name in PAGES
        )
    return sorted(pages, key=lambda page: PAGE_CACHE_MODES.index(page.page_cache))


def _count_queries(pages: list[Page]) -> None:
    """Database queries per page, in-process with Django's test client.

    The second request of each page is the one reported: warm low-level
    caches and, with the page cache on, a page cache hit.
    """
    from django.db import connection
    from django.test import Client, override_settings
    from django.test.utils import CaptureQueriesContext

    client = Client(raise_request_exception=False)
    for page in pages:
        settings_override = (
            override_settings(STOREFRONT_CACHE_SECONDS=0)
            if page.page_cache == "off"
            else contextlib.nullcontext()
        )
        with settings_override, CaptureQueriesContext(connection) as first:
            client.get(page.path)
        with settings_override, CaptureQueriesContext(connection) as warm:
            response = client.get(page.path)
        page.status = response.status_code
        page.bytes = len(response.content)
        page.queries_first_request = len(first.captured_queries)
        page.queries = len(warm.captured_queries)
        timings = [(float(query["time"]) * 1000, query["sql"]) for query in warm.captured_queries]
        page.sql_ms = round(sum(ms for ms, _sql in timings), 2)
        if timings:
            slowest_ms, slowest_sql = max(timings)
            page.slowest_query_ms = round(slowest_ms, 2)
            page.slowest_query = slowest_sql[:500]
        if page.status != 200:
            print(f"  {page.path}: HTTP {page.status} in-process", flush=True)


class _Gunicorn:
    """gunicorn on an already bound loopback socket, stopped with its workers."""

    def __init__(self, *, workers: int, environment: dict[str, str]) -> None:
        self.workers = workers
        self.environment = {**os.environ, **environment}
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.log = tempfile.NamedTemporaryFile(prefix="kervan-bench-gunicorn-", suffix=".log")  # noqa: SIM115

    def start(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((HOST, 0))
            listener.listen(256)
            self.port = listener.getsockname()[1]
            argv = [
                sys.executable,
                "-m",
                "gunicorn",
                "shop.wsgi:application",
                "--chdir",
                str(ROOT),
                "--bind",
                f"fd://{listener.fileno()}",
                "--workers",
                str(self.workers),
                "--worker-class",
                "sync",
                "--timeout",
                "30",
                "--graceful-timeout",
                "5",
                "--log-level",
                "warning",
            ]
            print(f"Starting gunicorn ({self.workers} workers) on http://{HOST}:{self.port}/")
            self.process = subprocess.Popen(
                argv,
                pass_fds=(listener.fileno(),),
                start_new_session=True,
                stdout=self.log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
                env=self.environment,
            )
        finally:
            listener.close()
        self._wait_until_ready()
        self._check_loopback_only()

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited during start-up:\n{self._log_tail()}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                connection = http.client.HTTPConnection(HOST, self.port, timeout=5)
                connection.request("GET", "/robots.txt")
                connection.getresponse().read()
                connection.close()
                return
            time.sleep(0.2)
        raise SystemExit(f"gunicorn did not answer within 60 s:\n{self._log_tail()}")

    def _check_loopback_only(self) -> None:
        for process in self._processes():
            with contextlib.suppress(psutil.Error):
                for conn in process.net_connections(kind="inet"):
                    if conn.status == psutil.CONN_LISTEN and conn.laddr.ip not in {HOST, "::1"}:
                        raise SystemExit(f"gunicorn listens on {conn.laddr.ip}: refusing to go on")

    def _processes(self) -> list[psutil.Process]:
        if self.process is None:
            return []
        with contextlib.suppress(psutil.NoSuchProcess):
            master = psutil.Process(self.process.pid)
            return [master, *master.children(recursive=True)]
        return []

    def stop(self) -> None:
        """SIGTERM to the master, SIGKILL to whatever is left after ten seconds."""
        if self.process is None:
            return
        processes = self._processes()
        for process in processes:
            with contextlib.suppress(psutil.NoSuchProcess):
                if process.pid == self.process.pid:
                    process.terminate()
        _gone, alive = psutil.wait_procs(processes, timeout=10)
        for process in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
        psutil.wait_procs(alive, timeout=5)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        self.log.close()
        print("gunicorn stopped.")

    def _log_tail(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")[-3000:]


def _load(port: int, page: Page, options: argparse.Namespace) -> None:
    """``options.requests`` GETs of one page over ``options.concurrency`` connections."""
    get_all(port, [page.path] * options.warmup, options.concurrency, options.time_limit)
    visits, seconds = get_all(
        port, [page.path] * options.requests, options.concurrency, options.time_limit
    )
    latencies = [visit.ms for visit in visits if visit.error is None]
    errors = [visit.error for visit in visits if visit.error is not None]
    page.requests = len(visits)
    page.errors = len(errors)
    page.error_samples = sorted(set(errors))[:5]
    page.seconds = round(seconds, 3)
    page.requests_per_second = round(len(latencies) / seconds, 1) if seconds else 0.0
    page.latency_ms = latency_summary(latencies)


def _results(
    options: argparse.Namespace,
    pages: list[Page],
    started: datetime,
    load_before: tuple[float, float, float],
    seed_seconds: float | None,
) -> dict[str, Any]:
    import django
    from django.conf import settings

    from catalog.models import Product

    commit = _git("rev-parse", "--short", "HEAD")
    changed = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "started_at": started.isoformat(timespec="seconds"),
        "git_commit": commit or None,
        "uncommitted_changes": changed.split("\n") if changed else [],
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_before": [round(value, 2) for value in load_before],
            "python": platform.python_version(),
            "django": django.get_version(),
            "platform": platform.platform(),
        },
        "server": {
            "gunicorn_workers": options.workers,
            "worker_class": "sync",
            "settings": os.environ["DJANGO_SETTINGS_MODULE"],
            "debug": settings.DEBUG,
            "page_cache_seconds": getattr(settings, "STOREFRONT_CACHE_SECONDS", 0),
            "database": settings.DATABASES["default"]["NAME"],
        },
        "load": {
            "requests_per_page": options.requests,
            "warmup_per_page": options.warmup,
            "concurrency": options.concurrency,
            "time_limit_seconds": options.time_limit,
            "client": "Python threads, http.client, same machine as the server",
        },
        "catalogue": {
            "bench_products": options.products,
            "products_in_database": Product.objects.count(),
            "seed_seconds": seed_seconds,
        },
        "pages": [asdict(page) for page in pages],
        "reference": REFERENCE,
        "targets": {**TARGETS, **checkout_bench.TARGETS},
    }


def _git(*args: str) -> str:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30
        ).stdout.rstrip()
    return ""


def _table(pages: list[Page]) -> str:
    header = (
        f"{'market':7} {'page':9} {'cache':5} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} "
        f"{'p99 ms':>7} {'errors':>6} {'queries':>7}  target"
    )
    lines = [header, "-" * len(header)]
    for page in pages:
        target = TARGETS.get(page.page, {})
        wanted = []
        if "requests_per_second" in target:
            wanted.append(f"≥{target['requests_per_second']} req/s")
        if "queries" in target:
            wanted.append(f"≤{target['queries']} q")
        latency = page.latency_ms
        lines.append(
            f"{page.market:7} {page.page:9} {page.page_cache:5} {page.requests_per_second:7.1f} "
            f"{latency.get('p50', 0):7.1f} {latency.get('p95', 0):7.1f} "
            f"{latency.get('p99', 0):7.1f} {page.errors:6d} {page.queries:7d}  "
            f"{', '.join(wanted)}"
        )
    oscar = REFERENCE["django-oscar"]
    lines.append(
        f"reference django-oscar: category ~{oscar['category']['requests_per_second']} req/s "
        f"({oscar['category']['queries']} queries), product "
        f"~{oscar['product']['requests_per_second']} req/s ({oscar['product']['queries']} queries)"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        sys.exit(130)
