"""Serving feeds at stable URLs: the current file of each feed, streamed from storage."""

from __future__ import annotations

import hmac

from django.core.files.storage import default_storage
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase
from django.utils.cache import get_conditional_response
from django.utils.http import http_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from integrations.feeds.models import FeedFormat
from integrations.feeds.selectors import feed_for_url
from integrations.feeds.writers import WRITERS


def _plain(message: str, status: int) -> HttpResponse:
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


@require_safe
def feed_file(request: HttpRequest, market: str, language: str, file_name: str) -> HttpResponseBase:
    """``/feeds/<market>/<language>/<google.xml|meta.csv|partner.xml>``.

    404 when there is no such active feed or it has not been built yet; 403
    when the feed has an access token and ``?token=`` is missing or wrong.
    Conditional requests (ETag, Last-Modified) are answered with 304.
    """
    config = feed_for_url(market=market, language=language, file_name=file_name)
    if config is None:
        return _plain(_("There is no such feed."), 404)
    if config.access_token:
        given = request.GET.get("token", "")
        if not hmac.compare_digest(given.encode(), config.access_token.encode()):
            return _plain(_("This feed needs its access token: ?token=…"), 403)
    build = config.current_build
    if build is None or not build.file_name or build.finished_at is None:
        return _plain(_("This feed has not been built yet. Try again later."), 404)
    etag = f'"{build.checksum or build.pk}"'
    modified = int(build.finished_at.timestamp())
    not_modified = get_conditional_response(request, etag=etag, last_modified=modified)
    if not_modified is not None:
        return not_modified
    try:
        stream = default_storage.open(build.file_name, "rb")
    except FileNotFoundError:
        return _plain(_("This feed has not been built yet. Try again later."), 404)
    response = FileResponse(
        stream,
        content_type=WRITERS[FeedFormat(config.format)].content_type,
        filename=config.file_name,
    )
    response["ETag"] = etag
    response["Last-Modified"] = http_date(modified)
    response["Content-Length"] = str(build.file_size)
    response["Cache-Control"] = "private, max-age=0" if config.access_token else "max-age=300"
    return response
