"""Building feeds: write the file, store it under a new name, swap it in.

A build streams the catalogue batch by batch into a temporary file, saves
that file to Django's default storage under a name of its own, then points
the feed at it in one short transaction (the row lock orders concurrent
builds of one feed). Until that commit the previous file is served whole;
after it, the previous file is deleted. A failed build leaves the served
file as it was and says why in its ``FeedBuild`` row.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from integrations.feeds.models import FeedBuild, FeedConfig
from integrations.feeds.selectors import (
    FeedUnavailable,
    feed_batches,
    feed_product_count,
    feed_scope,
)
from integrations.feeds.writers import WRITERS, FeedStats

logger = logging.getLogger(__name__)

STORAGE_FOLDER = "feeds"
CHUNK = 1024 * 1024

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class FeedBuildResult:
    build_id: int
    feed: str
    state: str
    items_written: int
    items_skipped: int
    file_size: int


class FeedBusy(Exception):
    """Another build of the same feed is running: this one would only repeat it."""


# pg_try_advisory_lock(key, feed id): one build of a feed at a time ("FEED").
LOCK_KEY = 0x46454544


@contextmanager
def _build_lock(config_id: int) -> Iterator[None]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_KEY, config_id])
        if not cursor.fetchone()[0]:
            raise FeedBusy(f"Feed {config_id} is being built already.")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_KEY, config_id])


def feed_build(
    *, config_id: int, batch_size: int | None = None, progress: Progress | None = None
) -> FeedBuildResult:
    """Build feed ``config_id`` and make it the one served; the build's summary.

    ``progress(done, total)`` is called between batches (products done of the
    products visible). Raises what made the build fail, after recording it on
    the build row; the file served until then stays. Raises ``FeedBusy``
    (recording nothing) while another build of the same feed runs.
    """
    with _build_lock(config_id):
        return _feed_build(config_id=config_id, batch_size=batch_size, progress=progress)


def _feed_build(
    *, config_id: int, batch_size: int | None, progress: Progress | None
) -> FeedBuildResult:
    size = batch_size or settings.FEED_BATCH_SIZE
    config = FeedConfig.objects.select_related("market").get(pk=config_id)
    build = FeedBuild.objects.create(feed=config, started_at=timezone.now())
    stored_name = ""
    try:
        scope = feed_scope(config)
        stats = FeedStats()
        with tempfile.TemporaryFile(prefix="kervan-feed-") as temporary:
            writer = WRITERS[config.format](temporary, scope, stats)
            total = feed_product_count(scope)
            writer.open(generated_at=build.started_at)
            done = 0
            for batch in feed_batches(scope, batch_size=size):
                for product, items in batch:
                    writer.product(product, items)
                done += len(batch)
                if progress is not None:
                    progress(done, max(total, done))
            writer.close()
            checksum, file_size = _digest(temporary)
            name = (
                f"{STORAGE_FOLDER}/{config.market.code}/{config.language}/"
                f"{config.format}-{build.started_at:%Y%m%d%H%M%S}-{secrets.token_hex(4)}"
                f".{writer.extension}"
            )
            stored_name = default_storage.save(name, File(temporary, name=name))
        build.products_total = max(total, done)
        build.items_written = stats.written
        build.items_skipped = stats.skipped_total
        build.skipped_reasons = dict(stats.skipped)
        build.notes = dict(stats.notes)
        build.samples = stats.samples
        build.file_name = stored_name
        build.file_size = file_size
        build.checksum = checksum
        _swap_in(build)
    except Exception as error:
        if stored_name:
            _delete_file(stored_name)
        FeedBuild.objects.filter(pk=build.pk).update(
            state=FeedBuild.State.FAILED,
            finished_at=timezone.now(),
            error=f"{type(error).__name__}: {error}"[:4000]
            if not isinstance(error, FeedUnavailable)
            else str(error),
        )
        raise
    return FeedBuildResult(
        build_id=build.pk,
        feed=str(config),
        state=build.state,
        items_written=build.items_written,
        items_skipped=build.items_skipped,
        file_size=build.file_size,
    )


def _digest(stream: IO[bytes]) -> tuple[str, int]:
    """SHA-256 and size of the written file, read back in chunks; rewinds it."""
    digest = hashlib.sha256()
    size = 0
    stream.seek(0)
    while chunk := stream.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
    stream.seek(0)
    return digest.hexdigest(), size


def _swap_in(build: FeedBuild) -> None:
    """Make ``build`` the feed's current file in one transaction; delete the file it
    replaces once that has committed.

    Builds of one feed that overlap are ordered by the feed's row lock; a build
    that started before the one already served is superseded (its file is
    dropped), so the newest data always wins.
    """
    with transaction.atomic():
        config = FeedConfig.objects.select_for_update().get(pk=build.feed_id)
        current = (
            FeedBuild.objects.filter(pk=config.current_build_id or 0)
            .values("file_name", "started_at")
            .first()
        )
        build.state = FeedBuild.State.SUCCESS
        build.finished_at = timezone.now()
        if current is not None and current["started_at"] > build.started_at:
            superseded = build.file_name
            build.file_name = ""
            build.error = "Superseded by a build that started later."
            build.save()
            transaction.on_commit(lambda: _delete_file(superseded))
            return
        build.save()
        config.current_build = build
        config.save(update_fields=["current_build"])
        previous = current["file_name"] if current is not None else ""
        if previous and previous != build.file_name:
            transaction.on_commit(lambda: _delete_file(previous))
    feed_builds_prune(config_id=build.feed_id)


def _delete_file(name: str) -> None:
    """Delete a stored feed file; a storage error is logged, never raised."""
    try:
        default_storage.delete(name)
    except OSError as error:
        logger.warning("Feed file %s not deleted: %s", name, error)


def feed_builds_prune(*, config_id: int, keep: int | None = None) -> int:
    """Forget all but the latest ``keep`` (FEED_BUILDS_KEPT) builds of a feed; never the
    current one. Their files were deleted when they were replaced."""
    keep = settings.FEED_BUILDS_KEPT if keep is None else keep
    current = FeedConfig.objects.filter(pk=config_id).values_list("current_build_id", flat=True)
    kept = FeedBuild.objects.filter(feed_id=config_id).order_by("-started_at", "-id")[:keep]
    deleted, _ = (
        FeedBuild.objects.filter(feed_id=config_id, finished_at__isnull=False)
        .exclude(pk__in=list(kept.values_list("pk", flat=True)))
        .exclude(pk__in=current)
        .delete()
    )
    return deleted


def _delete_files(names: list[str]) -> None:
    for name in names:
        _delete_file(name)


def feeds_delete(configs: QuerySet[FeedConfig]) -> int:
    """Delete feeds with their build history; their stored files go after the commit."""
    names = list(
        FeedBuild.objects.filter(feed__in=configs)
        .exclude(file_name="")
        .values_list("file_name", flat=True)
    )
    with transaction.atomic():
        deleted, _ = configs.delete()
        transaction.on_commit(lambda: _delete_files(names))
    return deleted


def feed_config_ids_active() -> list[int]:
    """The feeds beat builds: active feeds of active markets."""
    return list(
        FeedConfig.objects.filter(is_active=True, market__is_active=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
