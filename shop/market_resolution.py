"""Which market, country and language a visitor belongs to (the smart redirect)."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache

import iptocc
from babel.languages import get_official_languages, get_territory_language_info
from django.conf import settings
from django.http import HttpRequest
from django.utils.translation.trans_real import parse_accept_lang_header

from shop.context import MarketInfo
from shop.selectors import MarketDirectory

# Indexing crawlers that must see pages without being redirected, so that every
# market's URL is crawled and hreflang alternates are read. Generic bot lists
# also flag curl and HTTP libraries; those are treated as ordinary visitors.
CRAWLER_PATTERN = re.compile(
    r"googlebot|google-inspectiontool|storebot-google|adsbot-google|mediapartners-google|"
    r"googleother|bingbot|bingpreview|adidxbot|msnbot|slurp|duckduckbot|baiduspider|"
    r"yandex(?:bot|images|mobilebot)|applebot|petalbot|seznambot|sogou|exabot|naver|yeti/|"
    r"qwantify|ecosia|facebookexternalhit|facebot|twitterbot|linkedinbot|pinterestbot|"
    r"slackbot|discordbot|telegrambot|whatsapp|ahrefsbot|semrushbot|mj12bot|dotbot|"
    r"ccbot|gptbot|oai-searchbot|chatgpt-user|claudebot|perplexitybot|amazonbot",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class MarketChoice:
    market: MarketInfo
    country: str
    language: str
    reason: str  # "cookie", "ip", "accept-language" or "default": shown by support tools

    @property
    def prefix(self) -> str:
        return self.market.prefix_for(language=self.language, country=self.country)


def is_crawler(user_agent: str) -> bool:
    return bool(user_agent) and CRAWLER_PATTERN.search(user_agent) is not None


@lru_cache(maxsize=8)
def _networks(cidrs: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(cidr.strip(), strict=False) for cidr in cidrs if cidr.strip())


def _parse_ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # "[2001:db8::1]:443"
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # "203.0.113.5:443"
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _is_trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return any(address in network for network in _networks(tuple(settings.TRUSTED_PROXIES)))


def client_ip(request: HttpRequest) -> str | None:
    """The visitor's address.

    ``X-Forwarded-For`` is read only when the direct peer is a trusted proxy,
    and then from the right: the first address that is not itself a trusted
    proxy is the client (anything further left could be forged by it).
    """
    peer = _parse_ip(request.META.get("REMOTE_ADDR", ""))
    if peer is None:
        return None
    if not _is_trusted(peer):
        return str(peer)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops = [hop for hop in (part.strip() for part in forwarded.split(",")) if hop]
    for hop in reversed(hops):
        address = _parse_ip(hop)
        if address is None:
            break
        if not _is_trusted(address):
            return str(address)
    return str(peer)


def country_for_ip(ip: str | None) -> str | None:
    """ISO country code of a public IP address (offline database), or None."""
    if not ip:
        return None
    try:
        code = iptocc.country_code(ip)
    except ValueError:
        return None
    return code.upper() if code else None


def accept_languages(header: str) -> list[tuple[str, str | None]]:
    """``"de-AT,en;q=0.5"`` → ``[("de", "AT"), ("en", None)]`` by preference."""
    preferences = []
    for tag, _quality in parse_accept_lang_header(header or ""):
        if tag == "*":
            continue
        language, _, region = tag.replace("_", "-").partition("-")
        region = region.split("-")[-1] if region else ""
        preferences.append((language.lower(), region.upper() if len(region) == 2 else None))
    return preferences


@lru_cache(maxsize=512)
def main_languages(country: str) -> tuple[str, ...]:
    """A country's official languages (CLDR via Babel); failing those, its most spoken one."""
    official = get_official_languages(country, de_facto=True)
    if official:
        return tuple(official)
    spoken = sorted(
        get_territory_language_info(country).items(),
        key=lambda item: float(item[1].get("population_percent") or 0),
        reverse=True,
    )
    return tuple(code for code, _info in spoken[:1])


def choose_language(market: MarketInfo, country: str, accept_language: str) -> str:
    """Visitor's preference if offered, else the country's language if offered, else default."""
    for language, _region in accept_languages(accept_language):
        if language in market.languages:
            return language
    for language in main_languages(country):
        if language in market.languages:
            return language
    return market.default_language


def choose_market(request: HttpRequest, directory: MarketDirectory) -> MarketChoice | None:
    """Where to send a visitor who asked for a page without a market prefix.

    In order: an explicit earlier choice (cookie), the country of the client
    IP, the Accept-Language header, the default market.
    """
    if directory.default is None:
        return None
    accept_language = request.META.get("HTTP_ACCEPT_LANGUAGE", "")

    cookie = request.COOKIES.get(settings.MARKET_COOKIE_NAME, "")
    chosen = directory.resolve_prefix(cookie) if cookie else None
    if chosen is not None:
        market, country, language = chosen
        return MarketChoice(market, country, language, "cookie")

    ip_country = country_for_ip(client_ip(request))
    ip_market = directory.market_for_country(ip_country) if ip_country else None
    if ip_market is not None and ip_country is not None:
        language = choose_language(ip_market, ip_country, accept_language)
        return MarketChoice(ip_market, ip_country, language, "ip")

    for language, region in accept_languages(accept_language):
        region_market = directory.market_for_country(region) if region else None
        if region_market is not None and region is not None:
            language = choose_language(region_market, region, accept_language)
            return MarketChoice(region_market, region, language, "accept-language")
        for market in directory.markets:
            if market.default_language == language:
                return MarketChoice(market, market.default_country, language, "accept-language")

    default = directory.default
    country = default.default_country
    return MarketChoice(
        default, country, choose_language(default, country, accept_language), "default"
    )
