"""The feeds section of ``make bench``: time and memory of building a product feed.

Builds the Google Merchant Center feed of ``de-de`` (market ``eu``, German)
for the bench catalogue in a child process of its own, so that its peak
memory is the build's and nothing else's: the resident set size is sampled
every 20 ms during the build and reported next to the size just before it
(Django loaded, connection open). The feed is written to a throwaway
``MEDIA_ROOT``.

The bench catalogue has no images and Google takes no item without one, so
the child first gives every product an image row (all pointing at one file
name: no file is written) and runs everything in a transaction it rolls
back at the end: the bench database keeps neither the image rows nor the
feed or its build.

Run alone: ``python bench/run.py --sections feeds`` (with ``--products N``
for a smaller catalogue).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MARKET = "eu"
LANGUAGE = "de"
SAMPLE_SECONDS = 0.02
MB = 1024 * 1024


@dataclass
class FeedRun:
    feed: str = f"/feeds/{MARKET}/{LANGUAGE}/google.xml"
    products: int = 0
    items_written: int = 0
    items_skipped: int = 0
    skipped_reasons: dict[str, int] = field(default_factory=dict)
    file_bytes: int = 0
    seconds: float = 0.0
    items_per_second: float = 0.0
    rss_before_mb: float = 0.0
    rss_peak_mb: float = 0.0
    rss_growth_mb: float = 0.0
    batch_size: int = 0
    error: str = ""


def run(*, timeout: float = 60 * 30) -> FeedRun:
    """Build the feed in a child process (same environment) and read its report."""
    with tempfile.TemporaryDirectory(prefix="kervan-bench-feeds-") as media:
        environment = {**os.environ, "MEDIA_ROOT": media}
        completed = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--child"],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    lines = completed.stdout.strip().splitlines()
    if completed.returncode != 0 or not lines:
        return FeedRun(error=(completed.stderr or completed.stdout)[-2000:] or "no report")
    return FeedRun(**json.loads(lines[-1]))


def results(feed_run: FeedRun) -> dict[str, Any]:
    return asdict(feed_run)


def failed(feed_run: FeedRun) -> bool:
    return bool(feed_run.error)


def table(feed_run: FeedRun) -> str:
    if feed_run.error:
        return f"feed {feed_run.feed}: FAILED\n{feed_run.error}"
    header = (
        f"{'feed':26} {'products':>8} {'items':>7} {'skipped':>7} {'MB':>6} {'seconds':>7} "
        f"{'items/s':>8} {'RSS MB':>7} {'peak MB':>7} {'growth':>7}"
    )
    return "\n".join(
        [
            header,
            "-" * len(header),
            f"{feed_run.feed:26} {feed_run.products:8d} {feed_run.items_written:7d} "
            f"{feed_run.items_skipped:7d} {feed_run.file_bytes / MB:6.1f} "
            f"{feed_run.seconds:7.1f} {feed_run.items_per_second:8.0f} "
            f"{feed_run.rss_before_mb:7.1f} {feed_run.rss_peak_mb:7.1f} "
            f"{feed_run.rss_growth_mb:7.1f}",
        ]
    )


def _child() -> None:
    """In the child: set up Django, build the feed, print the report as JSON."""
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import gc

    import psutil
    from django.conf import settings
    from django.db import transaction

    from catalog.models import Product, ProductImage
    from integrations.feeds.models import FeedBuild, FeedConfig, FeedFormat
    from integrations.feeds.services import feed_build
    from shop.models import Market

    process = psutil.Process()
    with transaction.atomic():
        market = Market.objects.get(code=MARKET)
        config, _created = FeedConfig.objects.get_or_create(
            market=market, language=LANGUAGE, format=FeedFormat.GOOGLE
        )
        _images_everywhere(Product, ProductImage)
        gc.collect()
        before = process.memory_info().rss
        peak = [before]
        done = threading.Event()

        def sample() -> None:
            while not done.wait(SAMPLE_SECONDS):
                peak[0] = max(peak[0], process.memory_info().rss)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        started = time.monotonic()
        try:
            result = feed_build(config_id=config.pk)
        finally:
            seconds = time.monotonic() - started
            done.set()
            sampler.join()
        peak[0] = max(peak[0], process.memory_info().rss)
        build = FeedBuild.objects.get(pk=result.build_id)
        report = FeedRun(
            products=build.products_total,
            items_written=build.items_written,
            items_skipped=build.items_skipped,
            skipped_reasons=build.skipped_reasons,
            file_bytes=build.file_size,
            seconds=round(seconds, 2),
            items_per_second=round(build.items_written / seconds, 1) if seconds else 0.0,
            rss_before_mb=round(before / MB, 1),
            rss_peak_mb=round(peak[0] / MB, 1),
            rss_growth_mb=round((peak[0] - before) / MB, 1),
            batch_size=settings.FEED_BATCH_SIZE,
        )
        transaction.set_rollback(True)
    print(json.dumps(asdict(report)))


def _images_everywhere(product_model: Any, image_model: Any, chunk: int = 2000) -> None:
    """An image row for every product without one (rolled back with the rest)."""
    missing = product_model.objects.filter(images__isnull=True).values_list("pk", flat=True)
    ids = list(missing)
    for start in range(0, len(ids), chunk):
        image_model.objects.bulk_create(
            [
                image_model(
                    product_id=product_id,
                    image="products/original/bench.jpg",
                    detail="products/detail/bench.webp",
                    listing="products/listing/bench.webp",
                )
                for product_id in ids[start : start + chunk]
            ]
        )


if __name__ == "__main__":
    if sys.argv[1:] == ["--child"]:
        _child()
    else:
        print(__doc__)
