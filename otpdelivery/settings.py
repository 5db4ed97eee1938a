"""Settings for otpdelivery, read entirely from the environment (see .env.example)."""

import datetime
from pathlib import Path

import environ
from celery.schedules import crontab
from django.utils.csp import CSP

from otpdelivery import envvars
from otpdelivery.logconfig import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A developer's .env (made by `make .env`) fills in what the shell does not set.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# --- Core -----------------------------------------------------------------------------------

# Secrets have no default anywhere: a missing one fails loudly at start-up. Lists and other
# structured values are trimmed and checked by otpdelivery.envvars, whose errors name the
# variable ("DJANGO_ALLOWED_HOSTS: 'https://x' is not a host name ...").
SECRET_KEY = envvars.text("DJANGO_SECRET_KEY")
DEBUG = envvars.boolean("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = envvars.hosts("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = envvars.origins("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "otpdelivery.apps.OperationsAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "axes",
    "monitoring",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "retailers",
    "orders",
    "codes",
    "couriers",
    "pickup",
    "alerts",
    "dashboard",
    "ratelimits",
    "signinlinks",
    "webhooks",
    "api",
    "handoff",
    "customers",
]

MIDDLEWARE = [
    # First: request headers are cleaned of what no header may hold before anything reads them.
    "otpdelivery.http.HeaderNullBytesMiddleware",
    # Next, so that it times and counts every answer, the other middleware's included.
    "dashboard.metrics.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "otpdelivery.middleware.DeliveryTimeZoneMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "otpdelivery.urls"
WSGI_APPLICATION = "otpdelivery.wsgi.application"

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
                # The response's CSP nonce, for the site stylesheet inline on the courier's
                # compressed pages (otpdelivery.stylesheet).
                "django.template.context_processors.csp",
            ],
            "libraries": {"site": "otpdelivery.site_tags"},
        },
    },
]

# --- HTTPS, cookies and browser policies (`manage.py check --deploy` passes in production) --

# One switch for a site served over HTTPS; each setting below can still be set on its own.
HTTPS = envvars.boolean("DJANGO_HTTPS", default=False)
SECURE_SSL_REDIRECT = envvars.boolean("DJANGO_SECURE_SSL_REDIRECT", default=HTTPS)
SECURE_HSTS_SECONDS = envvars.integer(
    "DJANGO_SECURE_HSTS_SECONDS", default=31_536_000 if HTTPS else 0
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envvars.boolean(
    "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=HTTPS
)
SECURE_HSTS_PRELOAD = envvars.boolean("DJANGO_SECURE_HSTS_PRELOAD", default=HTTPS)
SESSION_COOKIE_SECURE = envvars.boolean("DJANGO_SESSION_COOKIE_SECURE", default=HTTPS)
CSRF_COOKIE_SECURE = envvars.boolean("DJANGO_CSRF_COOKIE_SECURE", default=HTTPS)
# Behind a TLS-terminating proxy: the header it sets, e.g. HTTP_X_FORWARDED_PROTO. Only set
# this when the proxy always overwrites that header, or anyone could claim HTTPS.
_proxy_ssl_header = envvars.header_name("DJANGO_SECURE_PROXY_SSL_HEADER")
SECURE_PROXY_SSL_HEADER = (_proxy_ssl_header, "https") if _proxy_ssl_header else None
# Proxies in front of the site that append to X-Forwarded-For; 0 = clients connect directly.
# The client address recorded with every code entry and sign-in failure depends on it.
TRUSTED_PROXY_COUNT = envvars.integer("DJANGO_TRUSTED_PROXY_COUNT", default=0)
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Strict Content-Security-Policy: our own scripts, styles, images and fonts only, and no
# inline script or style anywhere (the site's templates and Django's admin keep to it) but
# one: the site stylesheet inline on the courier's compressed pages, allowed by the
# response's nonce (otpdelivery.stylesheet; SECURITY.md, row 15). The nonce is made only for
# a page that renders it; scripts get none.
SECURE_CSP = {
    "default-src": [CSP.NONE],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "manifest-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "object-src": [CSP.NONE],
}

# --- Database -------------------------------------------------------------------------------

DATABASES = {
    "default": envvars.database_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["CONN_MAX_AGE"] = envvars.integer("DATABASE_CONN_MAX_AGE", default=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # With a Celery worker next to the web server (make run), two processes write at once;
    # taking the write lock at BEGIN makes the second wait instead of failing "locked".
    DATABASES["default"].setdefault("OPTIONS", {})["transaction_mode"] = "IMMEDIATE"
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and envvars.boolean(
    "DATABASE_SERVER_SIDE_BINDING", default=True
):
    # psycopg 3 sends parameters apart from the SQL (server-side binding) and prepares a
    # statement once a connection has run it five times, so PostgreSQL plans the hot
    # statements once per connection instead of once per request. A proxy pooling
    # connections per transaction (PgBouncer in transaction mode) hands each transaction
    # another server connection, without those prepared statements: behind one, set
    # DATABASE_SERVER_SIDE_BINDING=false (Django's default: both off).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        server_side_binding=True, prepare_threshold=5
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Authentication -------------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # django-axes first: it refuses a locked-out username before any password is checked.
    "otpdelivery.signin.SignInThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Sign-in throttling (django-axes): failures are counted per username and address, so
# anyone guessing marco's password locks out their own address, never marco at his own;
# couriers sharing a depot's network do not lock each other out either. Behind it, a
# per-username backstop (SIGNIN_BACKSTOP_FAILURES across all addresses, otpdelivery.signin)
# stops a guesser with many addresses and opens an alert for operations. Shared by all
# web processes through the database.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_FAILURE_LIMIT = envvars.integer("SIGNIN_MAX_FAILURES", default=5, minimum=1)
# Failures for one username from all addresses together, within the lockout time, after
# which it is refused from everywhere and operations are alerted.
SIGNIN_BACKSTOP_FAILURES = envvars.integer("SIGNIN_BACKSTOP_FAILURES", default=50, minimum=1)
AXES_COOLOFF_TIME = datetime.timedelta(
    minutes=envvars.integer("SIGNIN_LOCKOUT_MINUTES", default=15, minimum=1)
)
AXES_RESET_ON_SUCCESS = True
# No "AXES: BEGIN ..." line from every process that starts (each runserver reload, worker,
# management command): it says nothing a person needs. Sign-in failures are still logged.
AXES_VERBOSE = False
AXES_CLIENT_IP_CALLABLE = "otpdelivery.http.client_ip"
AXES_LOCKOUT_CALLABLE = "otpdelivery.signin.signin_locked_out"
# Keep the access log to failures: successful sign-ins are already in Django's last_login.
AXES_DISABLE_ACCESS_LOG = True
# Rule 17: sign-in links in emails (django-sesame), bound to the customer and to the page
# they open, valid 7 days and used up by signing in.
SESAME_MAX_AGE = datetime.timedelta(days=7)
SESAME_ONE_TIME = True
SESAME_TOKEN_NAME = "sesame"  # noqa: S105 - the query parameter's name
# "Email me a sign-in link": requests per hour per email address and per client address.
SIGNIN_LINK_MAX_PER_HOUR = env.int("SIGNIN_LINK_MAX_PER_HOUR", default=3)
SIGNIN_LINK_MAX_PER_HOUR_PER_ADDRESS = env.int("SIGNIN_LINK_MAX_PER_HOUR_PER_ADDRESS", default=20)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- Internationalisation and time ----------------------------------------------------------

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("it", "Italiano")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
# Delivery days, code validity and the day-end sweep all follow this zone.
DELIVERY_TIME_ZONE = envvars.time_zone("DELIVERY_TIME_ZONE", default="Europe/Rome")
TIME_ZONE = DELIVERY_TIME_ZONE
# Day-first dates and 24-hour times in English too (Italian's are already so).
FORMAT_MODULE_PATH = ["otpdelivery.formats"]

# --- Static files ---------------------------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": envvars.text(
            "DJANGO_STATICFILES_STORAGE",
            default="django.contrib.staticfiles.storage.StaticFilesStorage",
        ),
    },
}

# --- Email ----------------------------------------------------------------------------------

# django-environ parses EMAIL_URL into the old EMAIL_* names; Django 6.1 wants MAILERS.
_email = envvars.email_url("EMAIL_URL", default="consolemail://")
_mailer_options = {
    "host": _email.get("EMAIL_HOST"),
    "port": _email.get("EMAIL_PORT"),
    "username": _email.get("EMAIL_HOST_USER"),
    "password": _email.get("EMAIL_HOST_PASSWORD"),
    "use_tls": _email.get("EMAIL_USE_TLS"),
    "use_ssl": _email.get("EMAIL_USE_SSL"),
}
# The console (the default, for development) prints each email decoded and readable.
if _email["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend":
    _email["EMAIL_BACKEND"] = "otpdelivery.mail.ReadableConsoleBackend"
MAILERS = {
    "default": {
        "BACKEND": _email["EMAIL_BACKEND"],
        "OPTIONS": {name: value for name, value in _mailer_options.items() if value},
    }
}
if _email["EMAIL_BACKEND"].endswith("smtp.EmailBackend"):
    MAILERS["default"]["OPTIONS"]["timeout"] = envvars.integer(
        "EMAIL_TIMEOUT", default=10, minimum=1
    )
# Where customers reach the site; emails link to the tracking page under it.
SITE_URL = envvars.url("SITE_URL", default="http://127.0.0.1:8000")
DEFAULT_FROM_EMAIL = envvars.email_address(
    "DEFAULT_FROM_EMAIL", default="otpdelivery <no-reply@otpdelivery.test>"
)

# --- Celery ---------------------------------------------------------------------------------

# Without a broker, tasks run inline so the site works on a laptop with nothing installed.
CELERY_BROKER_URL = envvars.text("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
if not CELERY_BROKER_URL:
    # Inline tasks still take a producer from the pool; with a host name the in-memory
    # transport does not warn "No hostname was supplied" at every task.
    CELERY_BROKER_URL = "memory://localhost/"
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Periodic work, in CELERY_TIMEZONE (the delivery time zone), so "after midnight" is local
# midnight on daylight-saving days too.
CELERY_BEAT_SCHEDULE = {
    # crontab(minute=5, hour=0): every day at 00:05 local time, once the day has ended: the
    # day-end steps in order (expire codes, missed deliveries, missed drops, returns).
    "day-end": {"task": "handoff.tasks.day_end", "schedule": crontab(minute=5, hour=0)},
    # Every minute of real time (an interval), webhook deliveries whose next attempt is due.
    "send-due-webhooks": {
        "task": "webhooks.tasks.send_due_webhooks",
        "schedule": datetime.timedelta(minutes=1),
    },
    # Every five minutes of real time (an interval, not crontab(minute="*/5"), which in local
    # time skips an hour when the clocks go back), queue again code emails whose task never
    # reached a worker because the broker was down when they were asked for.
    "queue-unsent-code-emails": {
        "task": "codes.tasks.queue_unsent_code_emails",
        "schedule": datetime.timedelta(minutes=5),
    },
}

# --- Delivery codes -------------------------------------------------------------------------

# Fernet keys, newest first: the first encrypts, all of them decrypt (key rotation).
DELIVERY_CODE_ENCRYPTION_KEYS = envvars.fernet_keys("DELIVERY_CODE_ENCRYPTION_KEYS")
# HMAC key for the code's check hash; separate from SECRET_KEY and the encryption keys.
DELIVERY_CODE_HASH_KEY = envvars.text("DELIVERY_CODE_HASH_KEY")

# Rule 1: parcels of orders worth at least this much (EUR) need a code.
SECURE_DELIVERY_THRESHOLD_EUR = envvars.decimal("SECURE_DELIVERY_THRESHOLD_EUR", default="300.00")
# Rule 6: wrong codes before one code locks, and in all before the parcel is held.
CODE_MAX_WRONG_ATTEMPTS = envvars.integer("CODE_MAX_WRONG_ATTEMPTS", default=5, minimum=1)
PARCEL_MAX_WRONG_ATTEMPTS = envvars.integer("PARCEL_MAX_WRONG_ATTEMPTS", default=10, minimum=1)
# Rule 6: wrong codes one person may enter, across parcels, within the window.
COURIER_MAX_WRONG_ATTEMPTS = envvars.integer("COURIER_MAX_WRONG_ATTEMPTS", default=10, minimum=1)
COURIER_WRONG_ATTEMPTS_WINDOW_MINUTES = envvars.integer(
    "COURIER_WRONG_ATTEMPTS_WINDOW_MINUTES", default=60, minimum=1
)
# Days a parcel waits at a pickup point after the day it arrives; then it goes back.
PICKUP_HOLDING_DAYS = envvars.integer("PICKUP_HOLDING_DAYS", default=3)
# Rule 12: times per hour a customer may have a parcel's code emailed again.
CODE_RESEND_MAX_PER_HOUR = envvars.integer("CODE_RESEND_MAX_PER_HOUR", default=3, minimum=1)
# Password-reset emails an hour per address asked for, and per client address asking.
PASSWORD_RESET_MAX_PER_RECIPIENT_PER_HOUR = envvars.integer(
    "PASSWORD_RESET_MAX_PER_RECIPIENT_PER_HOUR", default=3, minimum=1
)
PASSWORD_RESET_MAX_PER_REQUESTER_PER_HOUR = envvars.integer(
    "PASSWORD_RESET_MAX_PER_REQUESTER_PER_HOUR", default=10, minimum=1
)
# Minutes after which a code email not yet sent is queued again (its task was lost).
CODE_EMAIL_REQUEUE_AFTER_MINUTES = envvars.integer(
    "CODE_EMAIL_REQUEUE_AFTER_MINUTES", default=5, minimum=1
)
# Working days for (re)scheduling deliveries, ISO weekday numbers (1 = Monday).
DELIVERY_WORKING_DAYS = envvars.weekdays("DELIVERY_WORKING_DAYS", default=[1, 2, 3, 4, 5, 6])

# --- Monitoring -----------------------------------------------------------------------------

# The bearer token Prometheus sends to read /metrics. Empty: /metrics answers 404.
METRICS_TOKEN = env("METRICS_TOKEN", default="")
# --- Cache (shared by every web process: API throttling) --------------------------------------

# CACHE_URL, e.g. redis://127.0.0.1:6379/1 (a Redis database of its own, not the broker's);
# without it the database cache (`manage.py createcachetable`, run by `make migrate`).
# Never a process's memory: several web processes must see the same counts.
if env("CACHE_URL", default=""):
    CACHES = {"default": env.cache_url("CACHE_URL")}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "django_cache",
        }
    }

# --- Retailer API -------------------------------------------------------------------------

# Requests per API key, e.g. 600/minute (DRF's rate format).
API_RATE_PER_KEY = env("API_RATE_PER_KEY", default="600/minute")
# Largest request body the API parses, in bytes.
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=512 * 1024)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["api.authentication.HasRetailerKey"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.ApiKeyRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api_key": API_RATE_PER_KEY},
    "DEFAULT_PARSER_CLASSES": ["api.parsers.LimitedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "api.exceptions.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "otpdelivery retailer API",
    "DESCRIPTION": (
        "Create orders and parcels, ship them, read their status and proof of delivery, and "
        "register webhook endpoints. Every call carries `Authorization: Bearer <key>`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # The documentation page loads Swagger UI from our own static files (strict CSP).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "SERVE_AUTHENTICATION": [],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
}

# --- Webhooks -----------------------------------------------------------------------------

# true only for development, tests and the demo: also http:// and loopback or private
# addresses. In production a webhook URL must be https to a public address.
WEBHOOK_ALLOW_PRIVATE_URLS = env.bool("WEBHOOK_ALLOW_PRIVATE_URLS", default=False)
# Seconds a webhook call may take, as a whole and for each socket operation (connect, send,
# each read); the sender's lease on a delivery (webhooks.services.in_flight_lease) is longer.
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)

# --- Benchmarks -----------------------------------------------------------------------------

# true only in `make bench`: serves /bench/baseline, the yardstick pages are compared with.
BENCH_BASELINE_VIEW = envvars.boolean("BENCH_BASELINE_VIEW", default=False)

# --- Logging --------------------------------------------------------------------------------

# "json" writes one JSON object per line for a log collector; "text" is for a terminal.
LOG_FORMAT = envvars.choice("LOG_FORMAT", default="text", choices=["text", "json"])
LOG_LEVEL = envvars.choice(
    "LOG_LEVEL",
    default="INFO",
    choices=["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"],
    case_insensitive=True,
)
LOGGING = logging_config(log_format=LOG_FORMAT, level=LOG_LEVEL)
# Error reports (the DEBUG error page and the emails to ADMINS) mask anything code-like.
DEFAULT_EXCEPTION_REPORTER = "otpdelivery.error_reports.CodeRedactingExceptionReporter"
# Who gets an email for each server error: comma-separated addresses; empty: nobody.
ADMINS = envvars.emails("DJANGO_ADMINS", default=[])
SERVER_EMAIL = envvars.email_address("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
