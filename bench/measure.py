"""HTTP GETs over a few keep-alive connections, and latency percentiles: shared by the bench."""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

HOST = "127.0.0.1"
PAGE_CACHE_HEADER = "X-Page-Cache"


@dataclass(frozen=True)
class Visit:
    """One GET: how long it took, what went wrong (None for HTTP 200) and the page cache's say."""

    path: str
    ms: float
    error: str | None
    page_cache: str  # "hit", "miss" or "" (not stored)


def get_all(
    port: int, paths: Sequence[str], concurrency: int, time_limit: float
) -> tuple[list[Visit], float]:
    """GET ``paths`` in order over ``concurrency`` connections, stopping at ``time_limit`` s.

    Returns the visits made (in completion order) and the wall time. Only
    HTTP 200 is a success; gunicorn's sync workers close the connection after
    each response, so ``http.client`` reconnects.
    """
    if not paths:
        return [], 0.0
    tickets = iter(paths)
    lock = threading.Lock()
    visits: list[Visit] = []
    started = time.perf_counter()
    deadline = started + time_limit

    def worker() -> None:
        connection = http.client.HTTPConnection(HOST, port, timeout=30)
        headers = {"User-Agent": "kervan-bench", "Accept": "text/html"}
        try:
            while time.perf_counter() < deadline:
                with lock:
                    path = next(tickets, None)
                if path is None:
                    return
                sent = time.perf_counter()
                page_cache = ""
                try:
                    connection.request("GET", path, headers=headers)
                    response = connection.getresponse()
                    response.read()
                    error = None if response.status == 200 else f"HTTP {response.status}"
                    page_cache = response.getheader(PAGE_CACHE_HEADER, "")
                except (OSError, http.client.HTTPException) as exception:
                    error = type(exception).__name__
                    connection.close()
                visit = Visit(path, (time.perf_counter() - sent) * 1000, error, page_cache)
                with lock:
                    visits.append(visit)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=time_limit + 35)
    return visits, time.perf_counter() - started


def percentile(ordered: Sequence[float], percent: float) -> float:
    """Nearest-rank percentile of an ordered sequence."""
    rank = max(1, -(-len(ordered) * percent // 100))
    return round(ordered[int(rank) - 1], 2)


def latency_summary(latencies: Sequence[float]) -> dict[str, float]:
    """p50, p95, p99, max and mean in ms; empty without latencies."""
    ordered = sorted(latencies)
    if not ordered:
        return {}
    return {
        "p50": percentile(ordered, 50),
        "p95": percentile(ordered, 95),
        "p99": percentile(ordered, 99),
        "max": round(ordered[-1], 2),
        "mean": round(sum(ordered) / len(ordered), 2),
    }
