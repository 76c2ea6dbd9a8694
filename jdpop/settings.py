"""Settings, all read from the environment (12-factor).

With DJANGO_DEBUG=1 the defaults are the embedded first-use ones (SQLite, a file-based Celery
broker, a development secret key). Without it, every production value must be given and a
missing one stops the process at start-up.
"""

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
# `make run` writes the development defaults here (DJANGO_DEBUG=1), so that every command the
# README shows works as pasted; the environment always wins over the file.
ENV_FILE = Path(environ.Env().str("JDPOP_ENV_FILE", default=str(BASE_DIR / ".env")))
if ENV_FILE.is_file():
    environ.Env.read_env(ENV_FILE, overwrite=False)
VAR_DIR = Path(environ.Env().str("JDPOP_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()
DEBUG = env.bool("DJANGO_DEBUG", default=False)
# A development machine (DJANGO_DEBUG=1), kept apart from DEBUG, which test runners turn off:
# what only development may do (seed_demo's public demo password) asks this.
JDPOP_DEVELOPMENT = DEBUG


def _required(name: str, dev_default: str) -> str:
    """A value production must set; development falls back to `dev_default`."""
    value = env.str(name, default="")
    if value:
        return value
    if DEBUG:
        return dev_default
    raise ImproperlyConfigured(f"{name} must be set when DJANGO_DEBUG is off")


SECRET_KEY = _required("DJANGO_SECRET_KEY", "dev-only-insecure-key-never-use-in-production")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "jdpop.apps.JdpopAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_htmx",
    "axes",
    # The floors, lowest first (the import contracts in pyproject.toml keep them so):
    "core",
    "invoices",
    "tickets",
    "disputes",
    "penalties",
    "notifications",
    "categories",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "core.middleware.RejectNulBytesMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "core.middleware.HtmxLoginRedirectMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "jdpop.urls"
WSGI_APPLICATION = "jdpop.wsgi.application"

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
                "notifications.context_processors.inbox",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'jdpop.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default: WAL and IMMEDIATE transactions let web, worker and beat share it.
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Repeated failed logins lock out the account, and the address, for a while (django-axes), in
# the login page, the admin and HTTP Basic alike (core.auth).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("JDPOP_LOGIN_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(minutes=env.float("JDPOP_LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # either one locks
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "core.auth.lockout_response"
AXES_VERBOSE = False  # no banner on every command; lockouts are still logged
# Behind a proxy that sets X-Forwarded-For, say how many: otherwise the address is the peer's
# own, so that a forged header cannot dodge the lockout by address.
AXES_IPWARE_PROXY_COUNT = env.int("JDPOP_TRUSTED_PROXIES", default=0)
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR") if AXES_IPWARE_PROXY_COUNT else ("REMOTE_ADDR",)
)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- language and time ----------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Asia/Shanghai"
USE_TZ = True

# --- files ----------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("DJANGO_STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.str("DJANGO_MEDIA_ROOT", default=str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG
INVOICE_UPLOAD_MAX_BYTES = env.int("JDPOP_INVOICE_UPLOAD_MAX_BYTES", default=10 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = INVOICE_UPLOAD_MAX_BYTES + 1024 * 1024

# --- cache (throttle counts; Redis in production, so that every process counts together) --
_cache_url = env.str("CACHE_URL", default="")
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _cache_url}
    if _cache_url.startswith(("redis://", "rediss://"))
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}

# --- e-mail ---------------------------------------------------------------------------------
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DJANGO_DEFAULT_FROM_EMAIL", default="jdpop <noreply@jdpop.local>")

# --- security (production) ------------------------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
X_FRAME_OPTIONS = "DENY"

# --- API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.tokens.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
        "core.api.BasicAuthentication",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "core.api.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "core.api.CursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.errors.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["core.auth.AnonThrottle", "core.auth.UserThrottle"],
}
# An API POST's Idempotency-Key is remembered this long (core.idempotency).
JDPOP_IDEMPOTENCY_TTL = timedelta(hours=env.float("JDPOP_IDEMPOTENCY_TTL_HOURS", default=24))
# Requests per period (s, min, hour, day), per address for anonymous callers, per user else;
# "urge" and "upload" also apply to the pages (core.auth.throttled).
JDPOP_THROTTLE_RATES = {
    "anon": env.str("JDPOP_THROTTLE_ANON", default="120/min"),
    "user": env.str("JDPOP_THROTTLE_USER", default="1200/min"),
    "urge": env.str("JDPOP_THROTTLE_URGE", default="20/hour"),
    "upload": env.str("JDPOP_THROTTLE_UPLOAD", default="300/hour"),
    "token": env.str("JDPOP_THROTTLE_TOKEN", default="10/min"),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "jdpop API",
    "VERSION": "1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.openapi.add_error_responses",
    ],
}
# Urge tickets share field names ("state", "resolution") with other models: name their enums
# (and keep the invoice request's StateEnum under the name it had).
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"] = {
    "StateEnum": "invoices.models.InvoiceRequest.State",
    "UrgeTicketStateEnum": "tickets.models.UrgeTicket.State",
    "TicketResolutionEnum": "tickets.models.UrgeTicket.Resolution",
}
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]["DisputeKindEnum"] = "disputes.models.Dispute.Kind"

# --- Celery ---------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue = VAR_DIR / "celery"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue / "queue"),
        "data_folder_out": str(_queue / "queue"),
        "processed_folder": str(_queue / "processed"),
        "control_folder": str(_queue / "control"),
        "store_processed": False,
    }
    for _d in ("queue", "processed", "control"):
        (_queue / _d).mkdir(parents=True, exist_ok=True)
else:
    # A task a killed worker left unacknowledged goes back to the queue after this long. Longer
    # than any job may run (JDPOP_JOB_TIME_LIMIT, below), so a running job is never handed to a
    # second worker; short enough that nothing waits an hour. The jobs work from database
    # state, so a task lost meanwhile costs nothing: the next scheduled run does its work.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 600}  # 2 × the time limit
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE: dict = {}

# --- the platform's rules (spec 4, 5) -------------------------------------------------------
JDPOP_OVERDUE_AFTER = timedelta(hours=env.float("JDPOP_OVERDUE_HOURS", default=10 * 24))
JDPOP_REPLY_WINDOW = timedelta(hours=env.float("JDPOP_REPLY_WINDOW_HOURS", default=24))
# The dashboard warns of pending requests that become overdue within this long (spec 4.6).
JDPOP_AT_RISK = timedelta(hours=env.float("JDPOP_AT_RISK_HOURS", default=48))
# A promised issue date (a ticket's 已协商开票时间, a dispute's 另行约定开票日期) lies at most
# this many days ahead: a promise for the year 3000 could never be broken.
JDPOP_PROMISE_MAX_DAYS = env.int("JDPOP_PROMISE_MAX_DAYS", default=30)
# The complaint workbench fetches its list again this often, so new tickets appear (spec 4.6).
JDPOP_WORKBENCH_POLL_SECONDS = env.float("JDPOP_WORKBENCH_POLL_SECONDS", default=20)
# Category operations (spec 13): a shop is 重点 while the cumulative share of last month's
# category sales of the shops above it is under the first percentage, A under the second, B
# under the third, 普通 after.
JDPOP_CATEGORY_TIER_THRESHOLDS = tuple(
    env.list("JDPOP_CATEGORY_TIER_THRESHOLDS", cast=int, default=[50, 80, 95])
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
    # one line per webhook request is too many; the attempts are in the database
    "loggers": {"aiohttp": {"level": "WARNING"}},
}

# --- urge tickets: jobs, reminders, outbox (spec 4) -----------------------------------------
# Reminders before a ticket's reply deadline, in hours (each sent at most once per ticket).
JDPOP_TICKET_REMINDERS = tuple(
    timedelta(hours=h)
    for h in env.list("JDPOP_TICKET_REMINDER_HOURS", cast=float, default=[12.0, 2.0])
)
# /healthz says "not ok" when a job has not succeeded for this long.
JDPOP_JOB_STALE_AFTER = timedelta(minutes=env.float("JDPOP_JOB_STALE_AFTER_MINUTES", default=15))
# /healthz looks for overdue requests without a ticket among those overdue for at most this long.
JDPOP_HEALTH_OVERDUE_LOOKBACK = timedelta(
    hours=env.float("JDPOP_HEALTH_OVERDUE_LOOKBACK_HOURS", default=7 * 24)
)
# A job run with no outcome after this long was killed: it is marked abandoned (and Celery
# kills a task that runs this long). The jobs themselves stop after a 50 s budget.
JDPOP_JOB_TIME_LIMIT = timedelta(seconds=env.float("JDPOP_JOB_TIME_LIMIT_SECONDS", default=300))
if "visibility_timeout" in CELERY_BROKER_TRANSPORT_OPTIONS:
    CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] = int(
        2 * JDPOP_JOB_TIME_LIMIT.total_seconds()
    )
# Job runs older than this are deleted (from time to time, by the jobs themselves).
JDPOP_JOB_RUNS_KEEP_DAYS = env.int("JDPOP_JOB_RUNS_KEEP_DAYS", default=30)
# drain_outbox gives up on a message after this many failed sends (it stays in the admin).
JDPOP_OUTBOX_MAX_ATTEMPTS = env.int("JDPOP_OUTBOX_MAX_ATTEMPTS", default=50)
# drain_outbox sends over this many SMTP sessions at once (their round trips overlap).
JDPOP_OUTBOX_SMTP_SESSIONS = env.int("JDPOP_OUTBOX_SMTP_SESSIONS", default=4)
# Prefixed to the links in e-mails, e.g. https://jdpop.example.com (empty: a bare path).
JDPOP_SITE_URL = env.str("JDPOP_SITE_URL", default="").rstrip("/")


def _every(task: str, env_name: str, default: float) -> dict:
    """A beat entry every `JDPOP_<env_name>_EVERY_SECONDS`; a late run expires before the next.

    DatabaseScheduler reads the expiry from "expire_seconds" (it drops "expires").
    """
    seconds = env.float(f"JDPOP_{env_name}_EVERY_SECONDS", default=default)
    return {"task": task, "schedule": seconds, "options": {"expire_seconds": int(seconds * 0.9)}}


for _task, _env_name, _default in [
    ("tickets.open_overdue_tickets", "TICKET_JOBS", 60.0),
    ("tickets.flag_missed_replies", "TICKET_JOBS", 60.0),
    ("tickets.flag_broken_promises", "TICKET_JOBS", 60.0),
    ("tickets.send_ticket_reminders", "REMINDERS", 300.0),
    ("core.drain_outbox", "OUTBOX", 30.0),
    ("notifications.deliver_webhooks", "WEBHOOKS", 30.0),
    ("core.prune_idempotency_keys", "IDEMPOTENCY_JOBS", 300.0),
    ("categories.roll_up_category_sales", "CATEGORY_JOBS", 600.0),
]:
    CELERY_BEAT_SCHEDULE[_task] = _every(_task, _env_name, _default)

# --- disputes (spec 5) ----------------------------------------------------------------------
# The merchant answers a refused-invoice dispute within this window; after it the platform has
# the dispute and the shop a penalty.
JDPOP_DISPUTE_MERCHANT_WINDOW = timedelta(
    hours=env.float("JDPOP_DISPUTE_MERCHANT_WINDOW_HOURS", default=24)
)
# After this a settlement plan the consumer has not answered counts as accepted.
JDPOP_DISPUTE_CONSUMER_WINDOW = timedelta(
    hours=env.float("JDPOP_DISPUTE_CONSUMER_WINDOW_HOURS", default=72)
)
# Judge clear urge disputes (merchant liable / not liable) automatically when they are opened.
JDPOP_AUTO_JUDGE_CLEAR_CASES = env.bool("JDPOP_AUTO_JUDGE_CLEAR_CASES", default=False)
CELERY_BEAT_SCHEDULE["disputes.enforce_deadlines"] = _every(
    "disputes.enforce_deadlines", "DISPUTE_JOBS", 60.0
)

# --- notifications (spec 10) -----------------------------------------------------------------
# Webhooks: endpoints on private, loopback or link-local addresses, and plain http://, are
# refused unless this is on (tests and local development only: it opens SSRF).
JDPOP_WEBHOOK_ALLOW_PRIVATE = env.bool("JDPOP_WEBHOOK_ALLOW_PRIVATE", default=False)
# A try that has no answer within this many seconds has failed.
JDPOP_WEBHOOK_TIMEOUT_SECONDS = env.float("JDPOP_WEBHOOK_TIMEOUT_SECONDS", default=10.0)
# Tries at once, in all and per endpoint (a slow receiver does not hold up the others).
JDPOP_WEBHOOK_CONCURRENCY = env.int("JDPOP_WEBHOOK_CONCURRENCY", default=32)
JDPOP_WEBHOOK_CONCURRENCY_PER_ENDPOINT = env.int(
    "JDPOP_WEBHOOK_CONCURRENCY_PER_ENDPOINT", default=4
)
# Seconds between a failed try and the next (Standard Webhooks' schedule: about 27 h in all).
JDPOP_WEBHOOK_RETRY_SCHEDULE = env.list(
    "JDPOP_WEBHOOK_RETRY_SCHEDULE",
    cast=int,
    default=[5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600],
)
# After a rotation the old secret signs as well for this long.
JDPOP_WEBHOOK_SECRET_OVERLAP = timedelta(
    hours=env.float("JDPOP_WEBHOOK_SECRET_OVERLAP_HOURS", default=24)
)
JDPOP_WEBHOOKS_PER_SHOP = env.int("JDPOP_WEBHOOKS_PER_SHOP", default=5)
# A reminder this long before a consumer's window to answer a settlement plan ends.
JDPOP_DISPUTE_CONSUMER_REMINDER = timedelta(
    hours=env.float("JDPOP_DISPUTE_CONSUMER_REMINDER_HOURS", default=24)
)

# /healthz says "not ok" when no worker has started a job for this long: by default three times
# the shortest interval in the schedule (a worker that stopped consuming, or a broker outage).
JDPOP_WORKER_SILENT_AFTER = timedelta(
    seconds=env.float(
        "JDPOP_WORKER_SILENT_AFTER_SECONDS",
        default=3 * min(entry["schedule"] for entry in CELERY_BEAT_SCHEDULE.values()),
    )
)

# Checking an uploaded invoice (spec 11): how much lower than the order amount its total may
# be (in yuan, for partial refunds); it may never be higher.
JDPOP_INVOICE_TOTAL_TOLERANCE = Decimal(env.str("JDPOP_INVOICE_TOTAL_TOLERANCE", default="0.00"))
# A bulk upload (spec 11): at most this many invoice files in one zip.
JDPOP_BULK_UPLOAD_MAX_FILES = env.int("JDPOP_BULK_UPLOAD_MAX_FILES", default=1000)
# ... of at most this many bytes, unpacking to at most this many (invoices.bulk: zip bombs).
JDPOP_BULK_UPLOAD_MAX_BYTES = env.int("JDPOP_BULK_UPLOAD_MAX_BYTES", default=200 * 1024 * 1024)
JDPOP_BULK_UPLOAD_MAX_UNPACKED = env.int(
    "JDPOP_BULK_UPLOAD_MAX_UNPACKED", default=1024 * 1024 * 1024
)
# The queue of the bulk upload task (empty: Celery's default), e.g. for a worker of its own.
JDPOP_BULK_UPLOAD_QUEUE = env.str("JDPOP_BULK_UPLOAD_QUEUE", default="")
# Many files at once (<input multiple>): Django refuses more than this many in one request.
DATA_UPLOAD_MAX_NUMBER_FILES = JDPOP_BULK_UPLOAD_MAX_FILES + 10
# Bulk uploads whose task was lost (broker) or whose worker died are sent again by this job.
CELERY_BEAT_SCHEDULE["invoices.resume_bulk_uploads"] = _every(
    "invoices.resume_bulk_uploads", "BULK_JOBS", 60.0
)
