"""Tamkeen settings, read from the environment.

With nothing set, Tamkeen runs on a SQLite file and an embedded (filesystem) Celery
broker under ``var/``, so a fresh clone needs no server. Production sets
``DATABASE_URL=postgres://...`` and ``CELERY_BROKER_URL=redis://...``. ``DEBUG`` is off
unless set (``./tamkeen demo`` sets it).

Importing this module creates nothing on disk: the processes that use a directory
create it (config/directories.py: manage.py, wsgi/asgi and the Celery worker for the
SQLite file's folder, the Celery app for the embedded broker's folders, beat for its
schedule file's folder; collectstatic for STATIC_ROOT).
"""

import warnings
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import csp.constants as csp
import environ

# django-fsm 3.0.1 announces at import that it moved into viewflow; that single
# warning is expected and filtered, nothing broader.
warnings.filterwarnings(
    "ignore",
    message=r"The 'django-fsm' package has been integrated into 'viewflow'",
    category=UserWarning,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("TAMKEEN_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
# The default is for development only; its "django-insecure-" prefix makes
# ``manage.py check --deploy`` say so when production forgets to set SECRET_KEY.
SECRET_KEY = env.str(
    "SECRET_KEY",
    default="django-insecure-development-key-change-me-in-production-0123456789abcdef",
)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # viewflow must come before django.contrib.admin (template overrides).
    "viewflow",
    "viewflow.workflow",
    # Before django.contrib.auth: its createsuperuser command replaces auth's (access/).
    "access",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_filters",
    "axes",  # sign-in throttling (section below)
    "csp",
    # Tamkeen's apps, bottom layer first (docs/architecture.md).
    "core",
    "ledger",
    "workflow",
    "approvals",
    "disbursements",
    "training",
    "followup",
    "notifications",
    "reporting",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "core.i18n.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "core.sessions.IdleTimeoutMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "core.middleware.RequestIdMiddleware",
    "core.middleware.SecurityHeadersMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: turns a refused sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "notifications.selectors.unread_notifications",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
DATABASES = {
    "default": env.db_url(
        "DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'tamkeen.sqlite3'}"
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server, the worker and beat read while one of them writes;
    # IMMEDIATE transactions plus a busy timeout make writers queue instead of
    # failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
        }
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

# --- Language and locale ----------------------------------------------------------
LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="fr")
LANGUAGES = [("ar", "العربية"), ("fr", "Français"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Dates DD/MM/YYYY (Gregorian) and 1.234,50-style numbers per language (config/formats/).
FORMAT_MODULE_PATH = ["config.formats"]
TIME_ZONE = env.str("TIME_ZONE", default="Africa/Casablanca")
USE_I18N = True
USE_TZ = True

# --- Static and uploaded files ----------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]  # static/tamkeen/: the right-to-left layout
# Written by collectstatic. WhiteNoise reads it only with DEBUG off (with DEBUG on it
# serves from the finders), so nothing creates it beforehand.
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
TAMKEEN_MAX_DOCUMENT_BYTES = env.int("TAMKEEN_MAX_DOCUMENT_BYTES", default=10 * 1024 * 1024)
# Largest accepted image (photos, scans), in pixels: a few kilobytes can announce a
# picture that fills the memory once decoded. 50 million is more than a phone's photo.
TAMKEEN_MAX_IMAGE_PIXELS = env.int("TAMKEEN_MAX_IMAGE_PIXELS", default=50_000_000)
# Legal ceiling of one purchase order, MAD including tax (a decimal string; DOMAIN.md).
TAMKEEN_PURCHASE_ORDER_LIMIT = env.str("TAMKEEN_PURCHASE_ORDER_LIMIT", default="200000.00")
# Each transition's write (audit entry + row) as a server-side prepared statement on
# PostgreSQL; turn off behind a transaction-pooling PgBouncer (one session per connection
# is required).
TAMKEEN_PREPARED_STATEMENTS = env.bool("TAMKEEN_PREPARED_STATEMENTS", default=True)
# Step-up confirmations (minutes, releases): after this many wrong passwords within the
# window, a user's confirmations are refused until the window ends. The count is kept in
# the cache: give production a shared one (CACHE_URL=rediscache://host:6379/1).
# Sessions end after this long without activity (seconds); sooner for the money roles.
TAMKEEN_SESSION_IDLE_SECONDS = env.int("TAMKEEN_SESSION_IDLE_SECONDS", default=1800)
TAMKEEN_SESSION_IDLE_SECONDS_MONEY = env.int("TAMKEEN_SESSION_IDLE_SECONDS_MONEY", default=900)
TAMKEEN_STEPUP_MAX_FAILURES = env.int("TAMKEEN_STEPUP_MAX_FAILURES", default=5)
TAMKEEN_STEPUP_WINDOW_SECONDS = env.int("TAMKEEN_STEPUP_WINDOW_SECONDS", default=900)
# A follow-up visit becomes the mentor's task this many days before it is due.
TAMKEEN_VISIT_TASK_LEAD_DAYS = env.int("TAMKEEN_VISIT_TASK_LEAD_DAYS", default=14)
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

# --- Email --------------------------------------------------------------------------
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="tamkeen@localhost")
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
# Links in emails point here (the beat tick has no request to take the host from).
TAMKEEN_SITE_URL = env.str("TAMKEEN_SITE_URL", default="http://127.0.0.1:8000")

# --- Celery --------------------------------------------------------------------------
_BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    # The embedded broker: messages are files under var/broker, so a worker runs
    # with no server at all. Good for one machine; production uses Redis. The Celery
    # app creates these folders when it is configured (config/celery.py).
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_BROKER_DIR / "out"),
        "data_folder_out": str(_BROKER_DIR / "out"),
        "processed_folder": str(_BROKER_DIR / "processed"),
        "control_folder": str(_BROKER_DIR / "control"),
        "store_processed": False,
    }
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_TASK_IGNORE_RESULT = CELERY_RESULT_BACKEND is None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Beat's default scheduler, which creates its schedule file's folder first.
CELERY_BEAT_SCHEDULER = "config.celery:Scheduler"
CELERY_BEAT_SCHEDULE = {
    # The timers of the flows (a follow-up visit becomes the mentor's task when due).
    "viewflow-fire-due-timers": {
        "task": "workflow.tasks.fire_due_timers",
        "schedule": 60.0,
    },
    # Reminders and escalations of overdue steps, then their emails (idempotent).
    "deadlines-tick": {
        "task": "notifications.tasks.deadlines_tick",
        "schedule": env.float("TAMKEEN_DEADLINES_TICK_SECONDS", default=120.0),
    },
}

# The program dashboards' kept figures (docs/reporting.md): the programs whose files
# changed since their figures were computed are recomputed this often.
TAMKEEN_DASHBOARD_REFRESH_SECONDS = env.float("TAMKEEN_DASHBOARD_REFRESH_SECONDS", default=300.0)
# "Refresh now" recomputes a program of at most this many files in the request; a larger
# one's figures are recomputed by the worker (the request stays constant).
TAMKEEN_DASHBOARD_INLINE_REFRESH_FILES = env.int("TAMKEEN_DASHBOARD_INLINE_REFRESH_FILES", default=20000)
CELERY_BEAT_SCHEDULE["dashboard-figures-refresh"] = {
    "task": "reporting.tasks.refresh_dashboards",
    "schedule": TAMKEEN_DASHBOARD_REFRESH_SECONDS,
}

# --- Security (production) ----------------------------------------------------------
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True

# --- Sign-in throttling (django-axes; core/login_throttle.py, docs/security.md) ---------
# Every sign-in (the site's and the administration's) passes the throttle first: after
# TAMKEEN_LOGIN_FAILURE_LIMIT wrong passwords for one user name, or
# TAMKEEN_LOGIN_ADDRESS_FAILURE_LIMIT from one address, within
# TAMKEEN_LOGIN_COOLOFF_MINUTES, sign-ins for that name or from that address are refused,
# without checking the password, until that long after the last counted failure or until
# an administrator unlocks them. The attempts are rows in the database (the admin's
# "Access attempts").
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
TAMKEEN_LOGIN_FAILURE_LIMIT = env.int("TAMKEEN_LOGIN_FAILURE_LIMIT", default=5)
TAMKEEN_LOGIN_ADDRESS_FAILURE_LIMIT = env.int("TAMKEEN_LOGIN_ADDRESS_FAILURE_LIMIT", default=20)
TAMKEEN_LOGIN_COOLOFF_MINUTES = env.int("TAMKEEN_LOGIN_COOLOFF_MINUTES", default=15)
# Behind reverse proxies: the request header that carries the client's address (e.g.
# X-Forwarded-For), and how many proxies of yours append to it. Unset: REMOTE_ADDR, as
# a client can write any header it likes.
TAMKEEN_CLIENT_ADDRESS_HEADER = env.str("TAMKEEN_CLIENT_ADDRESS_HEADER", default="")
TAMKEEN_CLIENT_ADDRESS_PROXIES = env.int("TAMKEEN_CLIENT_ADDRESS_PROXIES", default=1)
AXES_HANDLER = "core.login_throttle.LoginThrottle"
# Each counted on its own; LoginThrottle gives the address its own, larger limit.
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_FAILURE_LIMIT = TAMKEEN_LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=TAMKEEN_LOGIN_COOLOFF_MINUTES)
# Refused attempts during a lockout are not counted: the wait does not start again.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# A right password forgets that user name's failures (LoginThrottle says which).
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "core.login_throttle.client_address"
AXES_LOCKOUT_CALLABLE = "core.login_throttle.lockout_response"
# Failures stay listed in the admin ("Access failures") after the lockout ends.
AXES_ENABLE_ACCESS_FAILURE_LOG = True
# --- Content-Security-Policy (docs/security.md) -----------------------------------------
# Scripts only from this site or carrying the request's nonce; no eval. Style attributes
# stay allowed (style-src-attr): viewflow's Material pages carry them in markup; <style>
# elements need the nonce. Violations are reported to core.csp_reports and logged.
# TAMKEEN_CSP_REPORT_ONLY sends the same policy as Content-Security-Policy-Report-Only:
# nothing is blocked, every violation is still reported.
TAMKEEN_CSP_REPORT_URI = "/csp-report/"
TAMKEEN_CSP_REPORT_ONLY = env.bool("TAMKEEN_CSP_REPORT_ONLY", default=False)
_CSP_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp.SELF],
        "script-src": [csp.SELF, csp.NONCE],
        "style-src": [csp.SELF, csp.NONCE],
        "style-src-attr": [csp.UNSAFE_INLINE],
        # viewflow's stylesheet draws its icons as data: SVG images.
        "img-src": [csp.SELF, "data:"],
        "object-src": [csp.NONE],
        "base-uri": [csp.SELF],
        "form-action": [csp.SELF],
        "frame-ancestors": [csp.NONE],
        "report-uri": [TAMKEEN_CSP_REPORT_URI],
        "report-to": "csp",
    },
}
CONTENT_SECURITY_POLICY = None if TAMKEEN_CSP_REPORT_ONLY else _CSP_POLICY
CONTENT_SECURITY_POLICY_REPORT_ONLY = _CSP_POLICY if TAMKEEN_CSP_REPORT_ONLY else None

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"forbidden_one_line": {"()": "core.request_logging.ForbiddenOneLine"}},
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # A 403 is one WARNING line (user, method, path, reason), without a traceback.
        "django.request": {"filters": ["forbidden_one_line"]},
        "django.db.backends": {"level": "INFO"},
        # django-axes says at INFO what it does at every sign-in; its warnings (failures,
        # lockouts) still show.
        "axes": {"level": "WARNING"},
        # WeasyPrint's font subsetting is chatty at INFO.
        "fontTools": {"level": "WARNING"},
        "weasyprint": {"level": "WARNING"},
    },
}

# --- Tamkeen ---------------------------------------------------------------------------
# Salt for hashing personal data (CIN, disability details) before it enters audit payloads.
TAMKEEN_PII_SALT = env.str("TAMKEEN_PII_SALT", default="development-salt-change-me")

# --- Audit ledger ----------------------------------------------------------------------
# Private signing keys: <key id>.pem files in this directory, or the environment
# variables TAMKEEN_ENTRY_SIGNING_KEY / TAMKEEN_CHECKPOINT_SIGNING_KEY (base64 of the
# 32-byte Ed25519 private key). Development keys are generated on first use only when
# TAMKEEN_DEV_KEYS is on (default: DEBUG).
TAMKEEN_KEY_DIR = Path(env.str("TAMKEEN_KEY_DIR", default=str(VAR_DIR / "keys")))
TAMKEEN_DEV_KEYS = env.bool("TAMKEEN_DEV_KEYS", default=DEBUG)
# The ledger's root public key (hex), printed by 'manage.py audit init-root': every entry
# and checkpoint key must carry its certificate. Empty: the development root (dev keys only).
TAMKEEN_LEDGER_ROOT_PUBLIC_KEY = env.str("TAMKEEN_LEDGER_ROOT_PUBLIC_KEY", default="")
# What the integrator remembers of the last checkpoint it signed, beside the checkpoint
# key and outside the database (default: TAMKEEN_KEY_DIR/integrator-state.json).
TAMKEEN_INTEGRATOR_STATE_FILE = env.str("TAMKEEN_INTEGRATOR_STATE_FILE", default="")
# Witnesses that cosign each checkpoint: a JSON list of {"name", "url", "public_key"}.
TAMKEEN_WITNESSES = env.json("TAMKEEN_WITNESSES", default=[])
# How many of them the trust files written by 'audit trust' require.
TAMKEEN_WITNESS_QUORUM = env.int("TAMKEEN_WITNESS_QUORUM", default=0)
# The auditors are alerted when a witness has not cosigned a checkpoint for this long.
TAMKEEN_WITNESS_ALERT_AFTER_SECONDS = env.int("TAMKEEN_WITNESS_ALERT_AFTER_SECONDS", default=1800)
TAMKEEN_CHECKPOINT_EVERY_ENTRIES = env.int("TAMKEEN_CHECKPOINT_EVERY_ENTRIES", default=1000)
TAMKEEN_CHECKPOINT_EVERY_SECONDS = env.int("TAMKEEN_CHECKPOINT_EVERY_SECONDS", default=300)
CELERY_BEAT_SCHEDULE["audit-ledger-integrator"] = {
    "task": "ledger.tasks.integrate_ledger",
    "schedule": 60.0,
}
# The whole-chain verification the file pages show: the chains that grew since their
# stored verification, at most TAMKEEN_CHAIN_VERIFY_BATCH chains a run, taken for at most
# TAMKEEN_CHAIN_VERIFY_SECONDS (docs/ledger.md).
CELERY_BEAT_SCHEDULE["audit-ledger-chain-verification"] = {
    "task": "ledger.tasks.verify_changed_chains",
    "schedule": env.float("TAMKEEN_CHAIN_VERIFY_EVERY_SECONDS", default=300.0),
    "kwargs": {"batch": env.int("TAMKEEN_CHAIN_VERIFY_BATCH", default=20000),
               "seconds": env.float("TAMKEEN_CHAIN_VERIFY_SECONDS", default=60.0)},
}

# --- Second factor (docs/security.md) ------------------------------------------------------
# django-otp's devices: authenticator apps (TOTP), recovery codes (static), passkeys
# (django-otp-webauthn); Tamkeen's own gate, enrolment, reset and step-up (twofactor/).
INSTALLED_APPS += [
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_otp_webauthn",
    "twofactor",
]
# OTPMiddleware says whether the session's second factor was verified
# (request.user.is_verified()); the gate, once the session knows its user and its idle
# limit, lets an unverified user of the roles of core.roles.SECOND_FACTOR_ROLES (or one
# with a device) reach only the sign-in, verification and enrolment pages.
MIDDLEWARE.insert(MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
                  "django_otp.middleware.OTPMiddleware")
MIDDLEWARE.insert(MIDDLEWARE.index("core.sessions.IdleTimeoutMiddleware") + 1,
                  "twofactor.middleware.SecondFactorGateMiddleware")
# Off only for development and the test suite (tests/conftest.py); the step-up asks
# for the second factor of whoever has one either way.
TAMKEEN_REQUIRE_SECOND_FACTOR = env.bool("TAMKEEN_REQUIRE_SECOND_FACTOR", default=True)
# The name authenticator apps show beside the code.
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Tamkeen")
# Passkeys: the site's domain (the relying party) and the exact origins the browser may
# use. By default those of TAMKEEN_SITE_URL when it is https://, else http://localhost:8000
# (browsers refuse passkeys on an IP address such as 127.0.0.1).
_site = urlsplit(TAMKEEN_SITE_URL)
_https_site = _site.scheme == "https" and _site.hostname
OTP_WEBAUTHN_RP_ID = env.str("OTP_WEBAUTHN_RP_ID", default=_site.hostname if _https_site else "localhost")
OTP_WEBAUTHN_RP_NAME = env.str("OTP_WEBAUTHN_RP_NAME", default="Tamkeen")
OTP_WEBAUTHN_ALLOWED_ORIGINS = env.list(
    "OTP_WEBAUTHN_ALLOWED_ORIGINS",
    default=[f"https://{_site.netloc}" if _https_site else "http://localhost:8000"],
)
# A passkey is a second factor here, never a way to sign in without the password.
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False
