"""Whole-page cache for anonymous storefront visitors.

A page is stored per host, path and query (the path carries the market,
country and language) with the versions of what it shows: the category tree,
the catalogue, the market's configuration and price lists, and the stock of
the variants on it (see ``shop.versions``). A change retires only the pages
that showed it; a short lifetime bounds what time alone changes (a sale that
starts or ends). Signed-in shoppers, whose customer group may have its own
prices, are never served from the cache. While the cache is unavailable
pages are rendered from the database and not stored.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils import translation

from shop.versions import is_known, versions

_collecting = threading.local()


def page_depends_on(*concerns: str) -> None:
    """Declare that the page being rendered shows data of ``concerns`` (see shop.versions).

    Call it before reading the data: the versions read now are stored with
    the page, and a later change of any of them retires the stored page.
    Outside a cached page it does nothing.
    """
    collected: dict[str, int] | None = getattr(_collecting, "versions", None)
    if collected is None:
        return
    missing = [concern for concern in concerns if concern not in collected]
    if missing:
        collected.update(versions(missing))


def cached_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Serve anonymous GETs of a storefront view from the cache.

    A stored page carries the versions of what it showed (``page_depends_on``);
    it is served only while all of them are unchanged (one cache round trip
    for the page and one for the versions).
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        seconds = settings.STOREFRONT_CACHE_SECONDS
        if not seconds or request.method != "GET" or request.user.is_authenticated:
            return view(request, *args, **kwargs)
        address = f"{request.get_host()}{request.get_full_path()}"
        digest = hashlib.sha256(address.encode()).hexdigest()[:32]
        key = f"storefront:page:{digest}"
        stored = cache.get(key)
        if stored is not None:
            content, content_type, language, shown = stored
            if versions(shown) == shown:
                response = HttpResponse(content, content_type=content_type)
                response["Content-Language"] = language
                response["X-Page-Cache"] = "hit"
                return response
        _collecting.versions = {}
        try:
            response = view(request, *args, **kwargs)
            shown = _collecting.versions
        finally:
            _collecting.versions = None
        if (
            response.status_code == 200
            and not response.streaming
            and not response.cookies
            and is_known(shown)
        ):
            cache.set(
                key,
                (response.content, response["Content-Type"], translation.get_language(), shown),
                seconds,
            )
            response["X-Page-Cache"] = "miss"
        return response

    return wrapper
