"""Dunwell settings: one module, driven by environment variables.

With nothing set, Dunwell runs on the embedded default: a SQLite file under ``var/`` and an
in-process Redis-protocol server (fakeredis) shared by the web server and the RQ worker
thread. ``DATABASE_URL`` and ``REDIS_URL`` switch to PostgreSQL and Redis.
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import overload

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.getenv("DUNWELL_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def envbool(name: str, default: str) -> bool:
    value = os.getenv(name, default)
    if value not in ("True", "False"):
        raise ImproperlyConfigured(f"{name} must be True or False, not {value!r}")
    return value == "True"


def envint(name: str, default: int) -> int:
    return int(os.getenv(name, str(default)))


@overload
def envsecret(name: str, default: str) -> str: ...
@overload
def envsecret(name: str, default: None = None) -> str | None: ...
def envsecret(name: str, default: str | None = None) -> str | None:
    """Read ``NAME_FILE`` (a mounted secret) if set, else ``NAME``."""
    path = os.getenv(f"{name}_FILE")
    if path:
        return Path(path).read_text().strip()
    return os.getenv(name, default)


TESTING = "pytest" in sys.modules or os.getenv("DUNWELL_TESTING") == "True"
PRODUCTION = envbool("DUNWELL_PRODUCTION", "False")
# Off unless asked for (DEBUG=True): the demo runs for hours, and DEBUG keeps every query.
DEBUG = envbool("DEBUG", "False")

SECRET_KEY = envsecret("SECRET_KEY")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY (or SECRET_KEY_FILE) must be set in production")
    SECRET_KEY = "dunwell-embedded-default-not-for-production-" + "x" * 20


def audit_keys(value: str) -> dict[str, str]:
    """``"k2:secret,k1:older"``: key id and secret pairs, the first one signs new entries."""
    keys: dict[str, str] = {}
    for pair in filter(None, (part.strip() for part in value.split(","))):
        key_id, sep, secret = pair.partition(":")
        if not sep or not key_id or not secret or len(key_id) > 20 or key_id == "sha256":
            raise ImproperlyConfigured(
                "AUDIT_HMAC_KEYS must be key-id:secret pairs (ids up to 20 characters, "
                "not 'sha256', which names the unkeyed entries written before keys)"
            )
        keys[key_id] = secret
    return keys


# The audit trail's keys live here, outside the database, so whoever controls the database
# (a superuser too) cannot recompute the chain. Rotate by putting a new pair first and
# keeping the old ones for the entries and checkpoints they signed. Unset: one key derived
# from SECRET_KEY (set AUDIT_HMAC_KEYS in production so rotating SECRET_KEY leaves it alone).
AUDIT_HMAC_KEYS = audit_keys(envsecret("AUDIT_HMAC_KEYS", "") or "") or {
    "sk1": f"derived-from-secret-key:{SECRET_KEY}"
}
# Signed checkpoints of the chain's head, appended here (outside the database) every
# AUDIT_CHECKPOINT_SECONDS and on demand (manage.py audit_checkpoint).
AUDIT_CHECKPOINT_PATH = Path(
    os.getenv("AUDIT_CHECKPOINT_PATH", VAR_DIR / "audit" / "checkpoints.jsonl")
)
AUDIT_CHECKPOINT_SECONDS = envint("AUDIT_CHECKPOINT_SECONDS", 300)

ALLOWED_HOSTS = os.getenv("ALLOWED_HOSTS", "" if PRODUCTION else "*").split(",")
CSRF_TRUSTED_ORIGINS = [o for o in os.getenv("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

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
    "django_filters",
    "django_rq",
    "guardian",
    "axes",
    "anymail",
    "dunning",
    "collections_desk",
    "analytics",
]
# The local Chargebee, its simulator and ``manage.py demo``: for development, the tests and
# the demo, never installed in production.
if not PRODUCTION:
    INSTALLED_APPS.append("sandbox")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "dunning.helpers.security_headers.ContentSecurityPolicyMiddleware",
    # A refusal no view answered in place becomes its 400 or 409 with the reason.
    "dunning.helpers.errors.ApplicationErrorMiddleware",
    # Last, as django-axes asks: it turns a lockout into its 429 response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "dunning.governance.roles.navigation",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
DATABASE_URL = os.getenv("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
    DATABASES["default"].setdefault("OPTIONS", {})
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", 5)
        # No JIT: a page's grouped counts over 50,000 rows run in ~100 ms and JIT spent
        # ~1 s compiling them (the planner's cost passes its threshold; bench/desk.py).
        session = ["-c jit=off"]
        if TESTING:
            # The test database is emptied between tests; the audit triggers allow that only
            # in sessions that ask (see dunning/migrations/0004_audit_append_only.py).
            session.append("-c dunwell.allow_audit_purge=on")
        DATABASES["default"]["OPTIONS"]["options"] = " ".join(session)
else:
    # Default engine is SQLite so a fresh checkout runs with nothing installed. IMMEDIATE
    # transactions plus a busy timeout let the web server and the worker thread write
    # concurrently without "database is locked" errors.
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "dunwell.sqlite3"),
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            # A file (not :memory:) so tests can take the database away and bring it back.
            "TEST": {"NAME": str(VAR_DIR / "test-dunwell.sqlite3")},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis and RQ ---------------------------------------------------------------------
REDIS_URL = os.getenv("REDIS_URL", "")
EMBEDDED_REDIS = not REDIS_URL
if EMBEDDED_REDIS:
    CACHES = {
        "default": {"BACKEND": "dunning.helpers.embedded_redis.EmbeddedRedisCache", "LOCATION": ""}
    }
    _rq_connection: dict = {"USE_REDIS_CACHE": "default"}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "dunwell",
        }
    }
    _rq_connection = {"URL": REDIS_URL}

RQ_QUEUES = {
    name: {**_rq_connection, "DEFAULT_TIMEOUT": timeout}
    for name, timeout in (("default", 300), ("ingest", 120), ("actions", 300), ("backfill", 3600))
}
# Jobs go through dunning.helpers.queueing, which enqueues after commit itself.
RQ = {"COMMIT_MODE": "on_db_commit"}

# --- Chargebee ------------------------------------------------------------------------
CHARGEBEE_SITE = os.getenv("CHARGEBEE_SITE", "dunwell-test")
CHARGEBEE_API_KEY = envsecret("CHARGEBEE_API_KEY", "test_sandbox_key")
# When set (the sandbox, in tests and the demo), the SDK is pointed at this base URL.
CHARGEBEE_API_BASE = os.getenv("CHARGEBEE_API_BASE", "")
# Sent with Dunwell's end-of-dunning cancellations: it must be one of the reason codes the
# site has configured (Chargebee > Settings > Reason codes; the API cannot list them). Blank
# sends none. Checked at start (dunning/checks.py) and shown by chargebee_connect.
CHARGEBEE_CANCEL_REASON_CODE = os.getenv("CHARGEBEE_CANCEL_REASON_CODE", "")
CHARGEBEE_WEBHOOK_USERNAME = envsecret("CHARGEBEE_WEBHOOK_USERNAME", "chargebee")
CHARGEBEE_WEBHOOK_PASSWORD = envsecret("CHARGEBEE_WEBHOOK_PASSWORD") or ""
if not CHARGEBEE_WEBHOOK_PASSWORD:
    if PRODUCTION:
        raise ImproperlyConfigured("CHARGEBEE_WEBHOOK_PASSWORD must be set in production")
    CHARGEBEE_WEBHOOK_PASSWORD = "sandbox-webhook-secret"
WEBHOOK_MAX_BODY_BYTES = 1024 * 1024
# The site's API limit, shared by every process (Chargebee test sites allow 150 a minute).
CHARGEBEE_REQUESTS_PER_MINUTE = envint("CHARGEBEE_REQUESTS_PER_MINUTE", 150)
# What Dunwell proposes when its dunning of an invoice ends (each needs a manager's approval):
# subscription "cancel" or "keep"; invoice "leave_unpaid", "write_off" or "void".
DUNWELL_END_OF_DUNNING = {
    "subscription": os.getenv("DUNWELL_END_SUBSCRIPTION", "cancel"),
    "invoice": os.getenv("DUNWELL_END_INVOICE", "leave_unpaid"),
}

# --- Signals outside Chargebee (docs/signals.md) ---------------------------------------
# Providers asked per decision, in order; the first to know a field wins.
SIGNAL_PROVIDERS = os.getenv(
    "SIGNAL_PROVIDERS", "dunning.enrichment.signals.providers.DatabaseSignals"
).split(",")
SIGNALS_HTTP_URL = os.getenv("SIGNALS_HTTP_URL", "")  # for dunning.enrichment.signals.http_provider
SIGNALS_HTTP_TOKEN = envsecret("SIGNALS_HTTP_TOKEN", "")
# Where ``sync_signals`` reads tickets and usage; unset: the Chargebee base URL (the sandbox).
SIGNALS_SYNC_URL = os.getenv("SIGNALS_SYNC_URL", "")
SIGNALS_SYNC_KEY = envsecret("SIGNALS_SYNC_KEY", "")

# --- Card updater (docs/card_updater.md) ----------------------------------------------
# Asked before Dunwell asks a customer for a new card. Unset: the Chargebee sandbox's
# updater when CHARGEBEE_API_BASE points at the sandbox, else none.
CARD_UPDATER_URL = os.getenv("CARD_UPDATER_URL", "")
CARD_UPDATER_TOKEN = envsecret("CARD_UPDATER_TOKEN", "")
CARD_UPDATER_TIMEOUT_SECONDS = float(os.getenv("CARD_UPDATER_TIMEOUT_SECONDS", "3"))
CARD_UPDATER_CACHE_SECONDS = envint("CARD_UPDATER_CACHE_SECONDS", 6 * 3600)

# --- Collections desk (docs/escalation.md) ----------------------------------------------
# At or above this invoice amount (minor units) two different people approve an action.
TWO_APPROVERS_FROM_AMOUNT = envint("TWO_APPROVERS_FROM_AMOUNT", 500_000)
# Escalations go to this URL as JSON (the HTTP adapter); unset: kept as a local ticket.
ESCALATION_WEBHOOK_URL = os.getenv("ESCALATION_WEBHOOK_URL", "")
ESCALATION_WEBHOOK_TOKEN = envsecret("ESCALATION_WEBHOOK_TOKEN", "")
# --- Channels and drafting (docs/channels.md) -------------------------------------------
# Any Django email backend (anymail's included); by default emails are written as files
# under var/outbox/email and every message sent is shown on the Outbox page.
# EMAIL_PROVIDER picks anymail's backend for an ESP (docs/connectors.md); EMAIL_BACKEND,
# when set, wins.
EMAIL_PROVIDERS = ("postmark", "sendgrid", "mailgun", "amazon_ses")
EMAIL_PROVIDER = os.getenv("EMAIL_PROVIDER", "").strip().lower()
if EMAIL_PROVIDER and EMAIL_PROVIDER not in EMAIL_PROVIDERS:
    raise ImproperlyConfigured(f"EMAIL_PROVIDER must be one of {', '.join(EMAIL_PROVIDERS)}")
EMAIL_BACKEND = os.getenv("EMAIL_BACKEND") or (
    f"anymail.backends.{EMAIL_PROVIDER}.EmailBackend"
    if EMAIL_PROVIDER
    else "django.core.mail.backends.filebased.EmailBackend"
)
# anymail's settings: credentials from DUNWELL_<NAME> or DUNWELL_<NAME>_FILE, read at start.
ANYMAIL = {
    name: value
    for name, value in {
        "POSTMARK_SERVER_TOKEN": envsecret("DUNWELL_POSTMARK_SERVER_TOKEN", ""),
        "POSTMARK_API_URL": os.getenv("POSTMARK_API_URL", ""),
        "SENDGRID_API_KEY": envsecret("DUNWELL_SENDGRID_API_KEY", ""),
        "SENDGRID_API_URL": os.getenv("SENDGRID_API_URL", ""),
        "MAILGUN_API_KEY": envsecret("DUNWELL_MAILGUN_API_KEY", ""),
        "MAILGUN_SENDER_DOMAIN": os.getenv("MAILGUN_SENDER_DOMAIN", ""),
        "MAILGUN_API_URL": os.getenv("MAILGUN_API_URL", ""),  # EU: https://api.eu.mailgun.net/v3
        "MAILGUN_WEBHOOK_SIGNING_KEY": envsecret("DUNWELL_MAILGUN_WEBHOOK_SIGNING_KEY", ""),
        "AMAZON_SES_CLIENT_PARAMS": (
            {"region_name": os.environ["AWS_REGION"]} if os.getenv("AWS_REGION") else None
        ),
        "AMAZON_SES_CONFIGURATION_SET_NAME": os.getenv("AMAZON_SES_CONFIGURATION_SET_NAME", ""),
        # "user:password" in the webhook URLs the ESP calls; no secret: they are refused.
        "WEBHOOK_SECRET": envsecret("DUNWELL_ANYMAIL_WEBHOOK_SECRET", ""),
    }.items()
    if value
}
EMAIL_FILE_PATH = os.getenv("EMAIL_FILE_PATH", str(VAR_DIR / "outbox" / "email"))
DEFAULT_FROM_EMAIL = os.getenv("DEFAULT_FROM_EMAIL", "Billing <billing@dunwell.invalid>")
# SMS and in-app adapters POST to these; empty: the local outbox only (nothing leaves).
SMS_WEBHOOK_URL = os.getenv("SMS_WEBHOOK_URL", "")
SMS_WEBHOOK_TOKEN = envsecret("SMS_WEBHOOK_TOKEN", "")
INAPP_WEBHOOK_URL = os.getenv("INAPP_WEBHOOK_URL", "")
INAPP_WEBHOOK_TOKEN = envsecret("INAPP_WEBHOOK_TOKEN", "")
# Where customers reach Dunwell's public pages (the satisfaction survey link in messages).
PUBLIC_BASE_URL = os.getenv("PUBLIC_BASE_URL", "http://localhost:8000").rstrip("/")
QUIET_HOURS = os.getenv("QUIET_HOURS", "21:00-08:00")  # customer's local time; "" for none
DRAFTER = os.getenv("DRAFTER", "builtin")  # builtin | llm
if DRAFTER not in ("builtin", "llm"):
    raise ImproperlyConfigured(f"DRAFTER must be builtin or llm, not {DRAFTER!r}")
LLM_BASE_URL = os.getenv("LLM_BASE_URL", "http://127.0.0.1:11434/v1")  # OpenAI, Ollama, vLLM
LLM_MODEL = os.getenv("LLM_MODEL", "llama3.1")
LLM_API_KEY = envsecret("LLM_API_KEY", "not-needed-for-local-models")
LLM_TIMEOUT_SECONDS = float(os.getenv("LLM_TIMEOUT_SECONDS", "20"))

# --- Auth -----------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses locked-out username+IP pairs
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
    "collections_desk.reach_backend.TeamReachBackend",  # the desk's team rule, for every layer
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Login throttling: 5 failures for one username from one address lock that pair for 15
# minutes; the same address can still log other people in (shared office proxies).
AXES_FAILURE_LIMIT = envint("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=envint("LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_IPWARE_PROXY_COUNT = envint("TRUSTED_PROXY_COUNT", 0)
GUARDIAN_RAISE_403 = False
GUARDIAN_RENDER_403 = False
ANONYMOUS_USER_NAME = None

# --- I18N, static ---------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
# Production and the demo (`make demo` sets DUNWELL_STATIC_COMPRESSED) serve what
# collectstatic wrote: hashed names (cached for a year, immutable) with gzip and brotli
# copies beside them. Development and tests serve the app directories as they are.
STATIC_COMPRESSED = PRODUCTION or envbool("DUNWELL_STATIC_COMPRESSED", "False")
WHITENOISE_USE_FINDERS = not STATIC_COMPRESSED
WHITENOISE_AUTOREFRESH = not STATIC_COMPRESSED
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if STATIC_COMPRESSED
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Security -------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", "True")
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    # The webhook endpoint must stay reachable over plain HTTPS POST without redirects.
    SECURE_REDIRECT_EXEMPT = [r"^webhooks/"]

# --- Logging --------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "dunwell": {
            "handlers": ["console"],
            "level": os.getenv("DUNWELL_LOG_LEVEL", "INFO"),
            "propagate": True,
        },
        "rq.worker": {"handlers": ["console"], "level": "WARNING"},
        # One line per request (every webhook) buries the rest; DUNWELL_ACCESS_LOG=True shows it.
        "django.server": {
            "handlers": ["console"],
            "level": "INFO" if envbool("DUNWELL_ACCESS_LOG", "False") else "WARNING",
            "propagate": False,
        },
    },
}
