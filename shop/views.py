"""Shop-wide views: health, market choice, home."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from shop.health import health_report
from shop.middleware import set_market_cookie
from shop.selectors import market_directory


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    report = health_report()
    payload = {"status": "ok" if report["ok"] else "error", "components": report["components"]}
    return JsonResponse(payload, status=200 if report["ok"] else 503)


# No CSRF token: the form is on cached pages, and the only effect is a
# preference cookie that the visitor can change again at any time.
@csrf_exempt
@require_POST
def choose_market(request: HttpRequest) -> HttpResponse:
    """Store the visitor's explicit country/language choice and go there."""
    prefix = request.POST.get("prefix", "").lower()
    if market_directory().resolve_prefix(prefix) is None:
        return HttpResponseBadRequest(_("This country and language are not available."))
    next_path = request.POST.get("next", "/")
    if not next_path.startswith("/") or not url_has_allowed_host_and_scheme(
        next_path, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_path = "/"
    response = redirect(f"/{prefix}{next_path}")
    set_market_cookie(response, prefix)
    return response


@require_GET
def robots_txt(request: HttpRequest) -> HttpResponse:
    lines = [
        "User-agent: *",
        "Disallow: /admin/",
        "Disallow: /market/",
        "Disallow: /*/search/",
        "Allow: /",
        f"Sitemap: {request.build_absolute_uri('/sitemap.xml')}",
    ]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain")
