"""Whole-page cache for anonymous storefront visitors.

A page is stored per host, path and query (the path carries the market,
country and language). Every change that can alter a page (prices, stock,
products, categories, markets) bumps one content version, which retires all
stored pages at once; a short lifetime bounds what time alone changes (a
sale that starts or ends). Signed-in shoppers, whose customer group may have
its own prices, are never served from the cache.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import models, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import translation

from shop.request_memo import forget, memoized

VERSION_KEY = "storefront:content-version"


def content_version() -> int:
    """A number that changes whenever anything shown on storefront pages changes."""
    return memoized(VERSION_KEY, lambda: cache_counter(VERSION_KEY))


def cache_counter(key: str) -> int:
    """A counter kept in the cache, starting at 1: a version to put in other keys."""
    version = cache.get(key)
    if version is None:
        cache.add(key, 1, None)
        version = cache.get(key, 1)
    return int(version)


def cache_counter_bump(key: str) -> None:
    """Move a counter on, retiring every cache key built from it."""
    forget(key)
    try:
        cache.incr(key)
    except ValueError:
        cache.add(key, 1, None)


def _bump() -> None:
    cache_counter_bump(VERSION_KEY)


def content_changed() -> None:
    """Retire every cached page once the current transaction commits."""
    transaction.on_commit(_bump)


class StorefrontQuerySet(models.QuerySet[Any]):
    """Bulk deletes and updates retire caches like single saves do."""

    def delete(self) -> tuple[int, dict[str, int]]:
        result = super().delete()
        self.model.forget_cached()  # type: ignore[attr-defined]
        return result

    def update(self, **kwargs: Any) -> int:
        count = super().update(**kwargs)
        self.model.forget_cached()  # type: ignore[attr-defined]
        return count


class ChangesStorefront(models.Model):
    """Saving or deleting rows of this model changes what storefront pages show."""

    objects = StorefrontQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        self.forget_cached()

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        result = super().delete(*args, **kwargs)
        self.forget_cached()
        return result

    @classmethod
    def forget_cached(cls) -> None:
        """Forget what depends on this model's rows; subclasses add their own caches."""
        content_changed()


def cached_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Serve anonymous GETs of a storefront view from the cache."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        seconds = settings.STOREFRONT_CACHE_SECONDS
        if not seconds or request.method != "GET" or request.user.is_authenticated:
            return view(request, *args, **kwargs)
        address = f"{request.get_host()}{request.get_full_path()}"
        digest = hashlib.sha256(address.encode()).hexdigest()[:32]
        key = f"storefront:page:{content_version()}:{digest}"
        stored = cache.get(key)
        if stored is not None:
            content, content_type, language = stored
            response = HttpResponse(content, content_type=content_type)
            response["Content-Language"] = language
            response["X-Page-Cache"] = "hit"
            return response
        response = view(request, *args, **kwargs)
        if response.status_code == 200 and not response.streaming and not response.cookies:
            cache.set(
                key,
                (response.content, response["Content-Type"], translation.get_language()),
                seconds,
            )
            response["X-Page-Cache"] = "miss"
        return response

    return wrapper
