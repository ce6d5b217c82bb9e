"""Settings, read from the environment with safe defaults.

Embedded default: an SQLite file (WAL, synchronous=FULL, busy timeout) and a SQLite-backed Huey
queue under ``SOKYAKU_DATA_DIR`` (``./var``). ``DATABASE_URL`` switches to PostgreSQL and
``REDIS_URL`` switches the task engine to Redis; nothing else changes between the two modes.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import dj_database_url
import plotly
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE
from django.utils.translation import gettext_lazy as _


def _env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("SOKYAKU_DATA_DIR", "var")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """The secret key: from the environment, else generated once and kept in the data dir."""
    if key := os.environ.get("SOKYAKU_SECRET_KEY"):
        return key
    path = DATA_DIR / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        key = secrets.token_urlsafe(64)
        # O_EXCL: when two processes start at once, the first one's key wins.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text().strip()
        with os.fdopen(fd, "w") as fh:
            fh.write(key)
        return key


SECRET_KEY = _secret_key()
# The key of the hash an erased person's email and phone are kept as (consent.keyed_hash).
# Empty: derived from SECRET_KEY. Back it up with the secret key (docs/operations.md).
SOKYAKU_ERASURE_KEY = os.environ.get("SOKYAKU_ERASURE_KEY", "")
DEBUG = _env_bool("SOKYAKU_DEBUG")
ALLOWED_HOSTS = _env_list("SOKYAKU_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = _env_list("SOKYAKU_CSRF_TRUSTED_ORIGINS", "")

# Behind TLS (production): secure cookies, HSTS and redirects. Off for the local embedded demo,
# which is served over plain http on 127.0.0.1.
HTTPS = _env_bool("SOKYAKU_HTTPS")
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS
SECURE_HSTS_SECONDS = 31_536_000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
if _env_bool("SOKYAKU_BEHIND_PROXY"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "huey.contrib.djhuey",
    "axes",
    "csp",
    # Only for its static files and templates: the API docs page (/api/v1/docs) loads Swagger UI
    # from the installed package (served by whitenoise), never from a CDN, so it works offline.
    "ninja",
    "sokyaku.core",
    "sokyaku.campaigns",
    "sokyaku.contacts",
    "sokyaku.activity",
    "sokyaku.consent",
    "sokyaku.capture",
    "sokyaku.scoring",
    "sokyaku.segments",
    "sokyaku.lifecycle",
    "sokyaku.messaging",
    "sokyaku.sequences",
    "sokyaku.handoff",
    "sokyaku.deals",
    "sokyaku.analytics",
    "sokyaku.webhooks",
    "sokyaku.privacy",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "sokyaku.core.middleware.ApiGuardMiddleware",
    "sokyaku.core.middleware.DiskFullMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last: turns a sign-in that axes refused into the lockout page (core.lockout).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "sokyaku.urls"
WSGI_APPLICATION = "sokyaku.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
SQLITE_PATH = DATA_DIR / "sokyaku.sqlite3"
if os.environ.get("DATABASE_URL"):
    DATABASES = {
        "default": dj_database_url.parse(
            os.environ["DATABASE_URL"], conn_max_age=60, conn_health_checks=True
        )
    }
    if os.environ.get("SOKYAKU_TEST_DATABASE"):
        DATABASES["default"]["TEST"] = {"NAME": os.environ["SOKYAKU_TEST_DATABASE"]}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(SQLITE_PATH),
            "OPTIONS": {
                # Writers queue behind one another instead of failing with "database is locked".
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                # secure_delete: deleted and overwritten values are zeroed in the file, so an
                # erased person (docs/privacy.md) does not linger in its free space.
                "init_command": (
                    "PRAGMA journal_mode=WAL;"
                    "PRAGMA synchronous=FULL;"
                    "PRAGMA busy_timeout=20000;"
                    "PRAGMA foreign_keys=ON;"
                    "PRAGMA secure_delete=ON;"
                ),
            },
            # Tests use a real file too, so WAL and concurrent connections behave as in production.
            "TEST": {"NAME": str(DATA_DIR / "test.sqlite3")},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Task engine (Huey) ---------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
_consumer = {
    "workers": int(os.environ.get("SOKYAKU_WORKER_THREADS", "4")),
    "worker_type": "thread",
    "periodic": True,
    "check_worker_health": True,
}
_huey_common = {
    "name": "sokyaku",
    "immediate": _env_bool("SOKYAKU_TASKS_IMMEDIATE"),
    "utc": True,
    "consumer": _consumer,
}
if REDIS_URL:
    # The priority queue (Redis ≥ 5): ticks and the hot path go ahead of bulk work (core.lanes).
    HUEY = {
        **_huey_common,
        "huey_class": "huey.PriorityRedisHuey",
        "connection": {"url": REDIS_URL},
    }
else:
    # SQLite cannot block on a queue; the consumer polls. Huey's default idle back-off grows to
    # 10 s, which would make a sales alert wait that long; polling an indexed table four times
    # a second is cheap.
    HUEY = {
        **_huey_common,
        "huey_class": "huey.SqliteHuey",
        "filename": str(DATA_DIR / "tasks.sqlite3"),
        "consumer": {**_consumer, "initial_delay": 0.05, "max_delay": 0.25},
    }

# --- Cache ----------------------------------------------------------------------------------
# Shared by every web process; holds the rate-limit counters (core.ratelimit). Redis when
# REDIS_URL is set; with PostgreSQL alone a table in the database (`sokyaku migrate` creates
# it); in the embedded default files under the data dir, shared by the processes of the one
# machine, so a request never turns into an SQLite write just to be counted.
CACHES: dict[str, dict[str, Any]]
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "sokyaku",
        }
    }
elif os.environ.get("DATABASE_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "sokyaku_cache",
            # Culling drops a third of the entries (expired ones first); with the default 300 it
            # would reset live counters under load.
            "OPTIONS": {"MAX_ENTRIES": 50_000},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(DATA_DIR / "cache"),
            "OPTIONS": {"MAX_ENTRIES": 50_000},
        }
    }

# The reactions table (who reacts to stored events, in order): see ``sokyaku.reactions``.
SOKYAKU_REACTIONS = "sokyaku.reactions.REACTIONS"
# The JSON API, whose operations declare the scope and permissions each needs (core.apiscopes).
SOKYAKU_API = "sokyaku.api.api"

# --- Auth -----------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Sign-in throttling (django-axes), for /login/ and the admin's login alike: after
# SOKYAKU_LOGIN_FAILURE_LIMIT failed attempts for one username from one address, that pair is
# locked out for SOKYAKU_LOGIN_COOLOFF_MINUTES, whatever password it sends. The lockout page
# says the same for an existing and an unknown username (core.lockout). The address is read
# as everywhere else (core.http.client_ip: X-Forwarded-For only behind SOKYAKU_BEHIND_PROXY).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("SOKYAKU_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("SOKYAKU_LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# A locked-out pair stays locked for the cool-off after its last counted failure, not longer:
# someone else's guesses cannot keep a person out indefinitely.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_CLIENT_IP_CALLABLE = "sokyaku.core.http.client_ip"
AXES_LOCKOUT_CALLABLE = "sokyaku.core.lockout.lockout_response"
# Successful sign-ins are not logged a second time (core's access log has them).
AXES_DISABLE_ACCESS_LOG = True
# Its start-up banner would print on every command; lockouts are still logged.
AXES_VERBOSE = False

# --- Language and time ----------------------------------------------------------------------
LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", _("Japanese")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
MEDIA_ROOT = DATA_DIR / "media"
# whitenoise serves straight from the app directories (and STATIC_ROOT when collected), so the
# embedded default needs no `collectstatic` step.
WHITENOISE_USE_FINDERS = True
# The chart library comes with its Python package (plotly ships plotly.js): served as
# static/plotly/plotly.min.js, never from a CDN.
STATICFILES_DIRS = [("plotly", Path(plotly.__file__).resolve().parent / "package_data")]
WHITENOISE_AUTOREFRESH = DEBUG

# --- Mail -----------------------------------------------------------------------------------
# SOKYAKU_SMTP_URL=smtp://user:password@host:587?tls=1 (STARTTLS) or smtps://user:password@host:465
# (implicit TLS; also smtp://…?ssl=1) sends through that server.
# Without it (the embedded default), mail is written to $SOKYAKU_DATA_DIR/outbox instead of
# being sent, so a demo never mails anyone.
SMTP_URL = os.environ.get("SOKYAKU_SMTP_URL", "")
if SMTP_URL:
    _smtp = urlsplit(SMTP_URL)
    _smtp_options = parse_qs(_smtp.query)
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = _smtp.hostname or "localhost"
    EMAIL_PORT = _smtp.port or (465 if _smtp.scheme == "smtps" else 25)
    EMAIL_HOST_USER = unquote(_smtp.username or "")
    EMAIL_HOST_PASSWORD = unquote(_smtp.password or "")
    EMAIL_USE_TLS = _smtp_options.get("tls", ["0"])[0] == "1"
    EMAIL_USE_SSL = _smtp.scheme == "smtps" or _smtp_options.get("ssl", ["0"])[0] == "1"
    EMAIL_TIMEOUT = 30
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(DATA_DIR / "outbox")
DEFAULT_FROM_EMAIL = os.environ.get("SOKYAKU_FROM_EMAIL", "sokyaku <noreply@localhost>")
# The site's public address, for links in mail (download links, confirmations).
SITE_URL = os.environ.get("SOKYAKU_SITE_URL", "http://127.0.0.1:8000").rstrip("/")
# Who runs this installation: named in the public tracking notice (電気通信事業法の外部送信規律)
# as the recipient of what the tracking snippet sends, with the privacy policy, if any.
OPERATOR_NAME = os.environ.get("SOKYAKU_OPERATOR_NAME", "").strip()
PRIVACY_POLICY_URL = os.environ.get("SOKYAKU_PRIVACY_POLICY_URL", "").strip()
# Sending engine (messaging.services.delivery): parallel SMTP connections per worker, a token
# bucket per recipient domain (messages per minute, 0 = no limit), retries before a message fails.
MAIL_CONNECTIONS = int(os.environ.get("SOKYAKU_MAIL_CONNECTIONS", "4"))
MAIL_DOMAIN_RATE = int(os.environ.get("SOKYAKU_MAIL_DOMAIN_RATE", "600"))
MAIL_MAX_ATTEMPTS = int(os.environ.get("SOKYAKU_MAIL_MAX_ATTEMPTS", "8"))
MAIL_BATCH = int(os.environ.get("SOKYAKU_MAIL_BATCH", "100"))
# A worker holds claimed messages this long; after it, another worker takes them again.
MAIL_LEASE_SECONDS = int(os.environ.get("SOKYAKU_MAIL_LEASE_SECONDS", "300"))
# Unsubscribe and preference-centre links in mail open the person's settings for this many days
# after they were made; raising the version invalidates every link made before (a key rotation).
MAIL_LINK_MAX_AGE_DAYS = int(os.environ.get("SOKYAKU_MAIL_LINK_MAX_AGE_DAYS", "90"))
MAIL_LINK_VERSION = int(os.environ.get("SOKYAKU_MAIL_LINK_VERSION", "1"))
# Envelope sender for VERP (bounces+m<id>@domain) so a bounce names its message; blank: From.
BOUNCE_ADDRESS = os.environ.get("SOKYAKU_BOUNCE_ADDRESS", "")
# DKIM signing (dkimpy) when all three are set; the key file holds the PEM private key.
DKIM_KEY_FILE = os.environ.get("SOKYAKU_DKIM_KEY_FILE", "")
DKIM_SELECTOR = os.environ.get("SOKYAKU_DKIM_SELECTOR", "")
DKIM_DOMAIN = os.environ.get("SOKYAKU_DKIM_DOMAIN", "")
# Bounce mailbox (a maildir or an mbox file) that the worker reads every minute.
BOUNCE_MAILDIR = os.environ.get("SOKYAKU_BOUNCE_MAILDIR", "")
# Chat webhooks to private/loopback addresses: refused unless this is set (tests only).
CHAT_ALLOW_PRIVATE = _env_bool("SOKYAKU_CHAT_ALLOW_PRIVATE")
# Outgoing webhooks (``webhooks``): targets on private/loopback addresses and http:// URLs are
# refused unless this is set (a receiver on the same network; tests).
WEBHOOKS_ALLOW_PRIVATE = _env_bool("SOKYAKU_WEBHOOKS_ALLOW_PRIVATE")
# Attempts before a delivery fails (1, 2, 4 … minutes apart, at most 12 hours: about 3 days).
WEBHOOKS_MAX_ATTEMPTS = int(os.environ.get("SOKYAKU_WEBHOOKS_MAX_ATTEMPTS", "16"))
# A subscription whose every attempt failed for this long is disabled (admins are told).
WEBHOOKS_DISABLE_AFTER_HOURS = int(os.environ.get("SOKYAKU_WEBHOOKS_DISABLE_AFTER_HOURS", "72"))
# After a secret rotation the previous secret also signs for this long.
WEBHOOKS_ROTATION_GRACE_HOURS = int(os.environ.get("SOKYAKU_WEBHOOKS_ROTATION_GRACE_HOURS", "24"))
# Seconds one request may take (connect, send, answer).
WEBHOOKS_TIMEOUT_SECONDS = int(os.environ.get("SOKYAKU_WEBHOOKS_TIMEOUT_SECONDS", "10"))
# Where a customer's referral link (/r/<code>) leads; empty: the site's front page.
SOKYAKU_REFERRAL_LANDING_URL = os.environ.get("SOKYAKU_REFERRAL_LANDING_URL", "").strip()
# A sender profile is paused automatically only once it sent at least this many mails in 30 days.
MAIL_COMPLAINT_MIN_VOLUME = int(os.environ.get("SOKYAKU_MAIL_COMPLAINT_MIN_VOLUME", "200"))

# --- Content-Security-Policy ----------------------------------------------------------------
# Every page (staff and public) gets this policy (django-csp). Scripts only from this site or
# inline with the page's nonce; no plugins; no <base> elsewhere; never framed (public forms are
# embedded with their embed script, not an iframe). Styles allow inline attributes: the
# templates and the chart library set them. Images may come from any https site: mail previews
# and landing pages show the pictures their authors linked.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:", "https:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
    }
}

# --- Request limits -------------------------------------------------------------------------
# A JSON API request body larger than this answers 413.
API_MAX_BODY_BYTES = int(os.environ.get("SOKYAKU_API_MAX_BODY_BYTES", str(5 * 1024 * 1024)))
DATA_UPLOAD_MAX_MEMORY_SIZE = API_MAX_BODY_BYTES
EVENT_BATCH_MAX = 1000
# JSON API: requests per API key per minute (0 = no limit); over it: 429 with Retry-After.
API_RATE_LIMIT = int(os.environ.get("SOKYAKU_API_RATE_LIMIT", "600"))
# JSON API: requests with an invalid (malformed, unknown or revoked) key per client address per
# minute (0 = no limit); over it every request from that address sending a key answers 429.
API_AUTH_FAILURE_LIMIT = int(os.environ.get("SOKYAKU_API_AUTH_FAILURE_LIMIT", "30"))
# Tracking (/t/collect, /t/pixel.gif), per window of SOKYAKU_TRACKING_WINDOW_SECONDS: page views
# per client address, page views per visitor, new visitors per client address, and page views
# from everyone together (protects the database). 0 = no limit. Over a limit the collector
# answers 429 and the pixel still answers its image; nothing is stored.
TRACKING_WINDOW_SECONDS = int(os.environ.get("SOKYAKU_TRACKING_WINDOW_SECONDS", "60"))
TRACKING_IP_LIMIT = int(os.environ.get("SOKYAKU_TRACKING_IP_LIMIT", "300"))
TRACKING_VISITOR_LIMIT = int(os.environ.get("SOKYAKU_TRACKING_VISITOR_LIMIT", "60"))
TRACKING_NEW_VISITORS_PER_IP = int(os.environ.get("SOKYAKU_TRACKING_NEW_VISITORS_PER_IP", "20"))
TRACKING_GLOBAL_LIMIT = int(os.environ.get("SOKYAKU_TRACKING_GLOBAL_LIMIT", "6000"))

# --- Operations: /readyz and /metrics ------------------------------------------------------
# /readyz answers 503 when a check is out of these bounds (docs/operations.md, "Health").
READY_HEARTBEAT_MAX_SECONDS = float(os.environ.get("SOKYAKU_READY_HEARTBEAT_MAX_SECONDS", "150"))
READY_DUE_MAX_SECONDS = float(os.environ.get("SOKYAKU_READY_DUE_MAX_SECONDS", "300"))
READY_DISK_MIN_BYTES = int(os.environ.get("SOKYAKU_READY_DISK_MIN_BYTES", str(1024**3)))
READY_DISK_MIN_PERCENT = float(os.environ.get("SOKYAKU_READY_DISK_MIN_PERCENT", "5"))
# 0: the queue's depth is reported, never a reason to be "not ready".
READY_QUEUE_MAX = int(os.environ.get("SOKYAKU_READY_QUEUE_MAX", "0"))
# Bearer token of /metrics (Prometheus); unset, /metrics does not exist (404).
METRICS_TOKEN = os.environ.get("SOKYAKU_METRICS_TOKEN", "").strip()

# --- Logging --------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("SOKYAKU_LOG_LEVEL", "INFO")},
    # The Huey consumer logs through its own handler.
    "loggers": {"huey": {"level": "INFO", "propagate": False}},
}
