"""No public storefront URL answers 5xx, whatever the path or query holds.

Every route is taken from the URL resolver, so a new storefront page is
fuzzed without being listed here: its path arguments and query strings are
filled with NUL, bytes that are not UTF-8, 10 kB strings, huge numbers and
unknown parameters, mixed with values that name real things.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from urllib.parse import quote, unquote_to_bytes

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# KERVAN_FUZZ_EXAMPLES=500 explores at random; by default the same examples run every time.
EXAMPLES = int(os.environ.get("KERVAN_FUZZ_EXAMPLES", "30"))
DERANDOMIZE = "KERVAN_FUZZ_EXAMPLES" not in os.environ

# Modules whose views the public reaches (the admin has its own tests).
PUBLIC_VIEW_MODULES = ("storefront.", "shop.views")

# Values that name real things, so that fuzzed requests also reach deep into the views.
KNOWN_VALUES = {
    # The prefix's pattern admits nothing else; an unknown prefix is a 404.
    "prefix": ["de-de", "tr-tr", "en-us", "en-gb", "xx-yy"],
    "slug": ["kervan-t-shirt", "t-shirts", "kleidung", "kervan-mug", "nope"],
    "sku": ["KRV-TEE-M", "krv-tee-m", "KRV-MUG", "NOPE"],
    "section": ["de-de-products", "de-de-categories", "en-us-products", "nope"],
    "q": ["shirt", "tişört", "T-Shirt", "becher"],
    "page": ["1", "2", "last", "0"],
    "sort": ["newest", "price", "-price", "name"],
    "brand": ["1", "2"],
    "value": ["1", "2"],
    "min_price": ["10", "10,50", "0"],
    "max_price": ["30", "29.90"],
    "in_stock": ["on", "1"],
    "variant": ["KRV-TEE-M", "KRV-TEE-S"],
    "p": ["1", "2"],
    "next": ["/", "/p/kervan-t-shirt/", "//evil.example/", "https://evil.example/"],
}
# Path arguments of pages that exist in the demo shop, per URL name: half of the
# examples fuzz the query of a real page.
REAL_PAGES = {
    "home": [{"prefix": "de-de"}, {"prefix": "tr-tr"}, {"prefix": "en-us"}],
    "category": [
        {"prefix": "de-de", "slug": "t-shirts"},
        {"prefix": "de-de", "slug": "kleidung"},
        {"prefix": "tr-tr", "slug": "tisortler"},
        {"prefix": "en-us", "slug": "t-shirts"},
    ],
    "product": [
        {"prefix": "de-de", "slug": "kervan-t-shirt"},
        {"prefix": "tr-tr", "slug": "kervan-tisort"},
        {"prefix": "en-us", "slug": "kervan-t-shirt"},
        {"prefix": "de-de", "slug": "kervan-becher"},
    ],
    "sku": [{"prefix": "de-de", "sku": "KRV-TEE-M"}, {"prefix": "en-us", "sku": "KRV-MUG"}],
    "search": [{"prefix": "de-de"}, {"prefix": "tr-tr"}],
    "sitemap-section": [{"section": "de-de-products"}, {"section": "tr-tr-categories"}],
}
QUERY_KEYS = [key for key in KNOWN_VALUES if key not in {"prefix", "slug", "sku", "section"}]

# Malformed input: already percent-encoded, put into the URL as it is.
MALFORMED = ["%00", "%C3%28", "%FF", "%C3", "%ED%A0%80", "%C0%AF"]
# Odd but well-formed input, percent-encoded before use.
ODD_TEXT = [
    "x" * 10_000,
    "99999999999999999999999",
    "-1",
    "1e999",
    "NaN",
    "Infinity",
    "0x10",
    "²",
    "١٢٣",
    "İıŞğ",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "%",
    "%%",
    "%zz",
    " ",
    "",
]


@dataclass(frozen=True)
class Route:
    template: str  # "/{prefix}/p/{slug}/"
    url_name: str
    names: tuple[str, ...]
    methods: tuple[str, ...]

    def __str__(self) -> str:
        return self.template


def _regex_template(regex: str) -> str:
    regex = regex.removeprefix("^").removesuffix("$").removesuffix(r"\Z")
    return re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", regex)


def _route_template(route: str) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)


def _walk(patterns: list, prefix: str = "") -> list[tuple[str, URLPattern]]:
    found = []
    for entry in patterns:
        pattern = entry.pattern
        if hasattr(pattern, "_route"):
            piece = _route_template(pattern._route)
        else:
            piece = _regex_template(pattern._regex)
        if isinstance(entry, URLResolver):
            found += _walk(entry.url_patterns, prefix + piece)
        else:
            found.append((prefix + piece, entry))
    return found


def public_routes() -> list[Route]:
    routes = []
    for template, entry in _walk(get_resolver().url_patterns):
        module = getattr(entry.callback, "__module__", "")
        if not module.startswith(PUBLIC_VIEW_MODULES):
            continue
        names = tuple(re.findall(r"{(\w+)}", template))
        # POST-only views are posted to; the rest are fetched.
        methods = ("POST",) if entry.callback.__name__ == "choose_market" else ("GET",)
        routes.append(Route("/" + template, entry.name or "", names, methods))
    return routes


ROUTES = public_routes()


def _known(name: str) -> list[str]:
    return KNOWN_VALUES.get(name, ["x"])


def well_formed(name: str) -> st.SearchStrategy[str]:
    """A path segment or query value: NUL-free UTF-8, percent-encoded."""
    known = st.sampled_from(_known(name))
    text = st.one_of(
        known,
        known,
        st.sampled_from(ODD_TEXT),
        st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=30),
    )
    return text.map(lambda value: quote(value, safe=""))


def malformed(name: str) -> st.SearchStrategy[str]:
    """Well-formed pieces with NUL or bytes that are not UTF-8 among them."""
    piece = st.one_of(
        st.sampled_from(MALFORMED),
        well_formed(name),
        st.text(max_size=10).map(lambda value: quote(value + "\x00", safe="")),
    )
    return st.lists(piece, min_size=1, max_size=3).map("".join).filter(_is_malformed)


def _is_malformed(encoded: str) -> bool:
    raw = unquote_to_bytes(encoded)
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return b"\x00" in raw


@st.composite
def requests(draw: st.DrawFn, route: Route) -> tuple[str, str]:
    """A path for ``route`` and a query string; about half of them malformed somewhere."""
    broken = draw(st.booleans())

    def part(name: str) -> st.SearchStrategy[str]:
        if name == "prefix":
            return st.sampled_from(_known(name))
        return st.one_of(well_formed(name), malformed(name)) if broken else well_formed(name)

    real_pages = REAL_PAGES.get(route.url_name, [])
    if real_pages and draw(st.booleans()):
        values = {name: quote(value) for name, value in draw(st.sampled_from(real_pages)).items()}
    else:
        values = {name: draw(part(name)) for name in route.names}
    key = st.one_of(st.sampled_from(QUERY_KEYS), part("key"))
    pairs = draw(st.lists(st.tuples(key, st.just(None)), max_size=5))
    query = "&".join(f"{name}={draw(part(name))}" for name, _ in pairs)
    if "POST" in route.methods:  # the market form always names a market
        query = "&".join(filter(None, ["prefix=" + draw(part("prefix")), query]))
    return route.template.format(**values), query


def test_the_storefront_routes_are_found():
    templates = {route.template for route in ROUTES}
    assert {
        "/{prefix}/",
        "/{prefix}/c/{slug}/",
        "/{prefix}/p/{slug}/",
        "/{prefix}/sku/{sku}/",
        "/{prefix}/search/",
        "/sitemap.xml",
        "/sitemap-{section}.xml",
        "/robots.txt",
        "/market/",
        "/healthz",
    } <= templates


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/de-de/search/?q=%00", 400),
        ("/de-de/search/?q=%C3%28", 400),
        ("/de-de/search/?q=%FF", 400),
        ("/de-de/sku/%00/", 404),
        ("/de-de/p/%00/", 404),
        ("/de-de/p/%C3%28/", 404),
        ("/de-de/c/%FF/", 404),
        ("/de-de/c/t-shirts/?sort=%00", 400),
    ],
)
@pytest.mark.django_db
def test_malformed_input_is_refused_before_it_reaches_the_database(client, demo_shop, path, status):
    assert client.get(path).status_code == status


@pytest.mark.django_db
def test_malformed_form_values_are_refused(client, demo_shop):
    response = client.post("/market/", "prefix=de-de&next=/%00", content_type=FORM)
    assert response.status_code == 400
    response = client.post("/market/", {"prefix": "de-de", "next": "/a\x00"})
    assert response.status_code == 400
    response = client.post("/market/", "prefix=de-de&next=/%C3%28", content_type=FORM)
    assert response.status_code == 400


@pytest.mark.django_db
def test_well_formed_text_still_reaches_the_pages(client, demo_shop):
    response = client.get("/de-de/search/?q=" + quote("İstanbul café ünïcode"))
    assert response.status_code == 200
    assert client.get("/de-de/p/kervan-t-shirt/").status_code == 200
    response = client.post("/market/", "prefix=de-de&next=/p/" + quote("ç"), content_type=FORM)
    assert response.status_code == 302


FORM = "application/x-www-form-urlencoded"


@pytest.mark.slow
@pytest.mark.parametrize("route", ROUTES, ids=str)
@pytest.mark.django_db
def test_no_route_answers_5xx_to_any_input(client, demo_shop, route):
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=DERANDOMIZE,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(request=requests(route))
    def check(request: tuple[str, str]) -> None:
        path, query = request
        if "POST" in route.methods:
            response = client.post(path, query, content_type=FORM)
        else:
            response = client.get(f"{path}?{query}" if query else path)
        assert response.status_code < 500, (path, query, response.status_code)

    check()
