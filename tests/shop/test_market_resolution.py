"""The smart redirect: cookie, then IP country, then Accept-Language, then default."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.usefixtures("demo_markets")

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
BINGBOT = "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"


def visit(client: Client, path: str = "/", **headers: str):
    headers.setdefault("HTTP_USER_AGENT", BROWSER)
    return client.get(path, **headers)


@pytest.fixture
def trusted_local_proxy(settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1/32", "::1/128"]


@pytest.mark.parametrize(
    ("ip", "prefix"),
    [
        ("85.105.0.1", "tr-tr"),  # Türk Telekom
        ("91.0.0.1", "de-de"),
        ("8.8.8.8", "en-us"),
        ("81.2.69.160", "en-gb"),
        ("2a02:ff0::1", "tr-tr"),  # IPv6, Türkiye
        ("2001:4860:4860::8888", "en-us"),  # IPv6, United States
    ],
)
def test_visitor_is_sent_to_the_market_of_their_ip_country(client, ip, prefix):
    response = visit(client, REMOTE_ADDR=ip)

    assert response.status_code == 302
    assert response["Location"] == f"/{prefix}/"
    assert "Cookie" in response["Vary"]
    assert "Accept-Language" in response["Vary"]


def test_forwarded_for_is_used_when_the_peer_is_a_trusted_proxy(client, trusted_local_proxy):
    response = visit(client, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="85.105.0.1")

    assert response["Location"] == "/tr-tr/"


def test_forwarded_for_from_an_untrusted_peer_is_ignored(client, trusted_local_proxy):
    # The peer (a German address) is not a proxy we trust: its header could be forged.
    response = visit(client, REMOTE_ADDR="91.0.0.1", HTTP_X_FORWARDED_FOR="85.105.0.1")

    assert response["Location"] == "/de-de/"


def test_forwarded_for_is_ignored_when_no_proxy_is_trusted(client, settings):
    settings.TRUSTED_PROXIES = []

    response = visit(client, REMOTE_ADDR="91.0.0.1", HTTP_X_FORWARDED_FOR="85.105.0.1")

    assert response["Location"] == "/de-de/"


def test_forwarded_for_is_read_from_the_right_past_trusted_hops(client, settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1/32", "10.0.0.0/8"]

    # forged-by-client, real client, inner proxy
    response = visit(
        client,
        REMOTE_ADDR="127.0.0.1",
        HTTP_X_FORWARDED_FOR="8.8.8.8, 81.2.69.160, 10.1.2.3",
    )

    assert response["Location"] == "/en-gb/"


def test_ipv6_peer_behind_trusted_ipv6_proxy(client, trusted_local_proxy):
    response = visit(client, REMOTE_ADDR="::1", HTTP_X_FORWARDED_FOR="2a02:ff0::1")

    assert response["Location"] == "/tr-tr/"


def test_ip_from_a_country_no_market_serves_goes_to_the_default_market(client):
    response = visit(client, REMOTE_ADDR="1.1.1.1")  # Australia

    assert response["Location"] == "/en-us/"


def test_private_ip_without_other_hints_goes_to_the_default_market(client):
    response = visit(client, REMOTE_ADDR="192.168.1.10")

    assert response["Location"] == "/en-us/"


def test_accept_language_with_region_decides_when_ip_does_not(client):
    response = visit(client, REMOTE_ADDR="1.1.1.1", HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9,en;q=0.5")

    assert response["Location"] == "/fr-fr/"


def test_accept_language_without_region_picks_the_market_of_that_language(client):
    response = visit(client, REMOTE_ADDR="1.1.1.1", HTTP_ACCEPT_LANGUAGE="tr;q=0.9, xx;q=0.8")

    assert response["Location"] == "/tr-tr/"


def test_language_within_the_ip_market_follows_accept_language(client):
    response = visit(client, REMOTE_ADDR="91.0.0.1", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")

    assert response["Location"] == "/en-de/"


def test_language_falls_back_to_the_countrys_main_language(client):
    # An Austrian IP with an Accept-Language the market does not offer: German.
    response = visit(client, REMOTE_ADDR="77.119.0.1", HTTP_ACCEPT_LANGUAGE="it-IT")

    assert response["Location"] == "/de-at/"


def test_language_falls_back_to_the_market_default(client):
    # Dutch is not offered in the Europe market: its default language, German.
    response = visit(client, REMOTE_ADDR="145.97.0.1", HTTP_ACCEPT_LANGUAGE="nl-NL")

    assert response["Location"] == "/de-nl/"


def test_an_explicit_choice_in_the_cookie_beats_the_ip(client, settings):
    client.cookies[settings.MARKET_COOKIE_NAME] = "fr-fr"

    response = visit(client, REMOTE_ADDR="85.105.0.1")

    assert response["Location"] == "/fr-fr/"


def test_a_stale_cookie_is_ignored(client, settings):
    client.cookies[settings.MARKET_COOKIE_NAME] = "xx-zz"

    response = visit(client, REMOTE_ADDR="85.105.0.1")

    assert response["Location"] == "/tr-tr/"


def test_path_and_query_are_kept_on_redirect(client):
    response = visit(client, "/some/page/?q=mug&page=2", REMOTE_ADDR="81.2.69.160")

    assert response["Location"] == "/en-gb/some/page/?q=mug&page=2"


@pytest.mark.parametrize("user_agent", [GOOGLEBOT, BINGBOT])
def test_crawlers_are_never_redirected(client, user_agent):
    response = client.get("/", HTTP_USER_AGENT=user_agent, REMOTE_ADDR="85.105.0.1")

    assert response.status_code == 200
    assert response.wsgi_request.market_context.prefix == "en-us"
    html = response.content.decode()
    assert 'hreflang="tr-TR" href="http://testserver/tr-tr/"' in html
    assert 'hreflang="de-AT" href="http://testserver/de-at/"' in html
    assert 'hreflang="x-default" href="http://testserver/"' in html
    assert "User-Agent" in response["Vary"]


def test_curl_is_a_visitor_not_a_crawler(client):
    response = client.get("/", HTTP_USER_AGENT="curl/8.5.0", REMOTE_ADDR="85.105.0.1")

    assert response.status_code == 302


@pytest.mark.parametrize("prefix", ["tr-tr", "en-tr", "de-de", "fr-at", "en-nl", "en-us", "en-gb"])
def test_every_country_and_language_of_a_market_is_a_valid_prefix(client, prefix):
    response = client.get(f"/{prefix}/")

    assert response.status_code == 200
    assert response.wsgi_request.market_context.prefix == prefix


@pytest.mark.parametrize("prefix", ["fr-tr", "tr-de", "de-us", "en-au", "xx-yy"])
def test_unknown_prefixes_are_404(client, prefix):
    response = client.get(f"/{prefix}/")

    assert response.status_code == 404


def test_market_context_is_resolved_once_with_language_activated(client):
    response = client.get("/de-at/")

    context = response.wsgi_request.market_context
    assert (context.market.code, context.country, context.language, context.currency) == (
        "eu",
        "AT",
        "de",
        "EUR",
    )
    assert response["Content-Language"] == "de"
    assert '<html lang="de">' in response.content.decode()


def test_choosing_a_market_stores_the_choice_and_later_visits_follow_it(client, settings):
    response = client.post("/market/", {"prefix": "en-gb", "next": "/some/page/"})

    assert response.status_code == 302
    assert response["Location"] == "/en-gb/some/page/"
    assert client.cookies[settings.MARKET_COOKIE_NAME].value == "en-gb"
    assert visit(client, REMOTE_ADDR="85.105.0.1")["Location"] == "/en-gb/"


def test_choosing_an_unknown_market_is_refused_and_stores_nothing(client, settings):
    response = client.post("/market/", {"prefix": "xx-yy", "next": "/"})

    assert response.status_code == 400
    assert settings.MARKET_COOKIE_NAME not in client.cookies


def test_choosing_a_market_never_redirects_off_site(client):
    response = client.post("/market/", {"prefix": "de-de", "next": "//evil.example/"})

    assert response["Location"] == "/de-de/"


def test_every_storefront_page_has_the_selector(client):
    html = client.get("/tr-tr/").content.decode()

    assert 'action="/market/"' in html
    assert 'value="de-at"' in html
    assert 'value="tr-tr" selected' in html
