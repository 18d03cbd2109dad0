"""Django settings, all from the environment (see the configuration table in README.md).

With no configuration at all Spotline runs on SQLite in ./var/ with a development
secret key: the embedded default that ``make run`` starts.
"""

from __future__ import annotations

import base64
import ipaddress
import re
import secrets
import zoneinfo
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url

from spotline.core.policy import DEFAULT_POLICY, DispatchPolicy, PriorityPolicy
from spotline.core.triage import Priority
from spotline.datadir import private_dir, private_file
from spotline.envconf import (
    ConfigError,
    env_bool,
    env_float,
    env_int,
    env_list,
    env_secret,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = private_dir(Path(env_str("SPOTLINE_DATA_DIR", "var")).resolve())

DEBUG = env_bool("SPOTLINE_DEBUG", False)
SPOTLINE_SITE_URL = env_str("SPOTLINE_SITE_URL", "http://127.0.0.1:8000").rstrip("/")


def _secret_key() -> str:
    key = env_secret("SPOTLINE_SECRET_KEY")
    if key:
        return key
    # Development default: a random key kept in the data directory, so sessions survive
    # a restart without anyone having to invent a secret.
    path = DATA_DIR / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        key = secrets.token_urlsafe(50)
        private_file(path).write_text(key)
        return key


SECRET_KEY = _secret_key()


def _key_bytes(name: str, filename: str) -> bytes:
    """A 32-byte key from NAME / NAME_FILE (base64), or one generated for development."""
    raw = env_secret(name)
    if not raw:
        path = DATA_DIR / filename
        try:
            raw = path.read_text().strip()
        except FileNotFoundError:
            raw = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
            private_file(path).write_text(raw)
    try:
        key = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    except ValueError:
        raise ConfigError(f"{name} must be 32 bytes in base64") from None
    if len(key) != 32:
        raise ConfigError(f"{name} must be 32 bytes in base64, not {len(key)} bytes")
    return key


# Seals personal fields (AES-256-GCM) and keys the phone-number digests. In production
# set both from a secret store; the generated development keys live in the data dir.
SPOTLINE_KEK = _key_bytes("SPOTLINE_KEK", "kek")
# During a rotation (docs: `spotline rotate-kek`): the key being retired, still read.
SPOTLINE_KEK_PREVIOUS = (_key_bytes("SPOTLINE_KEK_PREVIOUS", "")
                         if env_secret("SPOTLINE_KEK_PREVIOUS") else None)
SPOTLINE_HASH_KEY = _key_bytes("SPOTLINE_HASH_KEY", "hash_key")
ALLOWED_HOSTS = env_list("SPOTLINE_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("SPOTLINE_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "ninja",  # serves /api/docs from our own static files, not a CDN (CSP)
    "spotline.accounts",
    "spotline.responders",
    "spotline.dispatch",
    "spotline.places",
    "spotline.intake",
    "spotline.console",
    "spotline.field",
    "spotline.api",
    "spotline.live",
    "spotline.notify",
    "spotline.checkins",
    "spotline.alerts",
    "spotline.tally",
    "spotline.privacy",
    "spotline.audit",
    "spotline.transparency",
    "spotline.figures",
    "spotline.planner",
    "spotline.ops",
    "spotline.worker",
]

MIDDLEWARE = [
    "spotline.ops.middleware.MetricsMiddleware",  # first: times and counts every answer
    "django.middleware.security.SecurityMiddleware",
    "spotline.security.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "spotline.ratelimit.RateLimitMiddleware",  # 429s before any work is done
    "spotline.api.middleware.BodySizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks: turns a lockout into a 429
]

ROOT_URLCONF = "spotline.urls"
ASGI_APPLICATION = "spotline.asgi.application"

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
            ],
        },
    },
]

# Databases ----------------------------------------------------------------------------

DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    # No persistent connections in web processes: under ASGI every request runs on a
    # thread of its own, and with CONN_MAX_AGE > 0 each of them kept its connection, so
    # one busy web process used up PostgreSQL's max_connections (measured: 85 open
    # connections after two seconds of 40 concurrent clients) and then every request
    # failed. Django's advice for ASGI is the same. `spotline worker`, one thread in a
    # loop, keeps its connection (spotline/worker/management/commands/worker.py).
    _conn_max_age = env_int("SPOTLINE_DB_CONN_MAX_AGE", 0, minimum=0)
    try:
        DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=_conn_max_age)}
    except ValueError:  # not the URL in the message: it holds the password
        raise ConfigError("DATABASE_URL must look like "
                          "postgres://user:password@host:port/name") from None
    if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        raise ConfigError("DATABASE_URL is for PostgreSQL; leave it unset to use SQLite")
    # A connection that died (a database restart, a failover) is noticed and replaced
    # at the start of the next request instead of failing it.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # A database that is down or unreachable must fail a request in seconds (a 503
    # with Retry-After, spotline/ops/unavailable.py), not hold it for the kernel's TCP
    # timeout. A URL's own ?connect_timeout= wins.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env_int("SPOTLINE_DB_CONNECT_TIMEOUT", 3, minimum=1))
    # A pool of connections per process (psycopg_pool): a request borrows one and gives
    # it back, so a busy process holds at most SPOTLINE_DB_POOL_SIZE connections and
    # queues the rest for up to SPOTLINE_DB_POOL_TIMEOUT seconds (then 503 with
    # Retry-After) instead of opening one per request until PostgreSQL refuses everyone
    # (measured at 50 requests/s: hundreds of "too many clients"); and no request pays
    # for a new connection (a server process and a password exchange). With
    # CONN_HEALTH_CHECKS the pool checks a connection before lending it, so one a
    # database restart killed is replaced, not handed out. 0 turns the pool off.
    _pool_size = env_int("SPOTLINE_DB_POOL_SIZE", 8, minimum=0)
    if _pool_size:
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"]["OPTIONS"]["pool"] = {
            "min_size": 1, "max_size": _pool_size,
            # Short: while the database restarts every request waits this long for a
            # connection before its 503, and "fail fast" is the promise.
            "timeout": env_float("SPOTLINE_DB_POOL_TIMEOUT", 0.5, minimum=0.1),
        }
    DATABASES["default"]["TEST"] = {"NAME": env_str("SPOTLINE_TEST_DB_NAME", "test_spotline")}
else:
    _SQLITE_PATH = env_str("SPOTLINE_SQLITE_PATH", str(DATA_DIR / "spotline.sqlite3"))
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": _SQLITE_PATH,
            "OPTIONS": {
                # IMMEDIATE takes the write lock when a transaction starts, so two
                # writers queue instead of one failing with "database is locked" when
                # it tries to upgrade a read lock. WAL lets readers run beside the
                # writer; synchronous=FULL makes every acknowledged commit survive a
                # power cut, not only a process crash. secure_delete zeroes what a
                # purge or a delete frees, so destroyed data does not linger in free
                # pages of the file (the purge also truncates the WAL).
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL;PRAGMA synchronous=FULL;"
                    "PRAGMA foreign_keys=ON;PRAGMA busy_timeout=20000;"
                    "PRAGMA secure_delete=ON;"
                ),
            },
            # Tests use a file too (not the default in-memory database), so that
            # concurrency tests run real connections against a real WAL file.
            "TEST": {"NAME": str(DATA_DIR / "test.sqlite3")},
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Auth ---------------------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# Argon2 for new passwords; the others only so that older hashes still verify (and are
# upgraded to Argon2 at the next sign-in).
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
# django-axes first: it refuses a locked-out name+address before the password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/accounts/home/"
LOGOUT_REDIRECT_URL = "/"

# Two-factor sign-in (TOTP, django-otp) for these roles; "admin" is a superuser or staff
# user. Responders sign in to their app with a password unless "responder" is added.
SPOTLINE_2FA_ROLES = frozenset(
    r.lower() for r in env_list("SPOTLINE_2FA_ROLES", "dispatcher,coordinator,admin"))
if SPOTLINE_2FA_ROLES - {"responder", "dispatcher", "coordinator", "admin"}:
    raise ConfigError("SPOTLINE_2FA_ROLES takes responder, dispatcher, coordinator and "
                      f"admin, not {sorted(SPOTLINE_2FA_ROLES)}")
OTP_TOTP_ISSUER = env_str("SPOTLINE_ORG_NAME", "Spotline")  # the name authenticator apps show

# Throttled sign-in (django-axes): after SPOTLINE_LOGIN_FAILURE_LIMIT wrong passwords for
# one name from one address, that pair is refused for SPOTLINE_LOGIN_LOCKOUT_MINUTES
# (a 429 page saying when to try again). Logs never carry the name or the address
# (AXES_VERBOSE off masks both), and successful sign-ins are not recorded.
AXES_FAILURE_LIMIT = env_int("SPOTLINE_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("SPOTLINE_LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # so the retry time shown holds
AXES_LOCKOUT_CALLABLE = "spotline.accounts.views.locked_out"
# The same client address as the rate limits (X-Forwarded-For from trusted proxies only).
AXES_CLIENT_IP_CALLABLE = "spotline.ratelimit.client_ip"
AXES_VERBOSE = False
AXES_DISABLE_ACCESS_LOG = True

# Cookies and transport. "Production" is a site served over HTTPS: SPOTLINE_SITE_URL
# starting with https:// turns on Secure cookies and HSTS unless told otherwise.
SPOTLINE_SECURE_COOKIES = env_bool("SPOTLINE_SECURE_COOKIES",
                                   SPOTLINE_SITE_URL.startswith("https://"))
SESSION_COOKIE_SECURE = SPOTLINE_SECURE_COOKIES
CSRF_COOKIE_SECURE = SPOTLINE_SECURE_COOKIES
SESSION_COOKIE_HTTPONLY = True
# responder.js reads the CSRF cookie to send X-CSRFToken, so it cannot be HttpOnly.
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env_int("SPOTLINE_SESSION_HOURS", 12, minimum=1) * 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = env_bool("SPOTLINE_SESSION_BROWSER_CLOSE", False)
SECURE_HSTS_SECONDS = env_int("SPOTLINE_HSTS_SECONDS",
                              31_536_000 if SPOTLINE_SECURE_COOKIES else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = False  # the organization's other hosts may not be HTTPS
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# The Content-Security-Policy (spotline/security.py) lets maps load tiles from the host
# of SPOTLINE_TILE_URL and nothing else from elsewhere.

# Live updates ---------------------------------------------------------------------------

# In-memory in the embedded default (one process); Redis when several processes must
# reach each other's WebSocket clients.
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Maps: any XYZ tile server. When tiles cannot load, markers and everything else still
# work; set SPOTLINE_TILE_URL to your own server for privacy or offline use.
SPOTLINE_TILE_URL = env_str("SPOTLINE_TILE_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png")
SPOTLINE_TILE_ATTRIBUTION = env_str(
    "SPOTLINE_TILE_ATTRIBUTION", "&copy; OpenStreetMap contributors"
)
SPOTLINE_MAP_CENTRE = env_str("SPOTLINE_MAP_CENTRE", "60.1699,24.9384")
try:
    _lat, _lon = (float(v) for v in SPOTLINE_MAP_CENTRE.split(","))
    if not (-90 <= _lat <= 90 and -180 <= _lon <= 180):
        raise ValueError
except ValueError:
    raise ConfigError(
        "SPOTLINE_MAP_CENTRE must be 'lat,lon', lat between -90 and 90 and lon between "
        f"-180 and 180, not {SPOTLINE_MAP_CENTRE!r}"
    ) from None

# Geocoding: the local gazetteer (places/), and optionally the organization's OWN
# Nominatim as a second source. A crisis text names a person at a place, so it goes to
# no server but the one the organization runs; never nominatim.openstreetmap.org.
SPOTLINE_GEOCODER = env_str("SPOTLINE_GEOCODER", "local").strip().lower() or "local"
if SPOTLINE_GEOCODER not in ("local", "nominatim"):
    raise ConfigError(f"SPOTLINE_GEOCODER is local or nominatim, not {SPOTLINE_GEOCODER!r}")


def _nominatim_url() -> str:
    url = env_str("SPOTLINE_NOMINATIM_URL").strip().rstrip("/")
    if SPOTLINE_GEOCODER == "nominatim" and not url:
        raise ConfigError("SPOTLINE_GEOCODER=nominatim needs SPOTLINE_NOMINATIM_URL, the "
                          "address of your organization's own Nominatim server")
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - only to raise on a port that is not a number
    except ValueError:
        parts, host = urlsplit(""), ""
    if url and (parts.scheme not in ("http", "https") or not host or parts.query
                or parts.fragment):
        # The value is not echoed back: it may carry a password.
        raise ConfigError("SPOTLINE_NOMINATIM_URL must be an http:// or https:// address "
                          "such as https://nominatim.example.org, without ?query")
    if host == "openstreetmap.org" or host.endswith(".openstreetmap.org"):
        raise ConfigError("SPOTLINE_NOMINATIM_URL must be your organization's own Nominatim "
                          "server, never a public one: a crisis text names a person at a place")
    return url


SPOTLINE_NOMINATIM_URL = _nominatim_url()
SPOTLINE_NOMINATIM_TIMEOUT_SECONDS = env_float("SPOTLINE_NOMINATIM_TIMEOUT_SECONDS", 2.0,
                                               minimum=0.1, maximum=10.0)

# Internationalization -------------------------------------------------------------------

LANGUAGE_CODE = "en"
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGES = [("en", "English"), ("es", "Español")]
TIME_ZONE = env_str("SPOTLINE_TIME_ZONE") or "UTC"
try:
    zoneinfo.ZoneInfo(TIME_ZONE)
except (ValueError, zoneinfo.ZoneInfoNotFoundError):  # else Django's own ValueError later
    raise ConfigError("SPOTLINE_TIME_ZONE must be a time zone name such as UTC or "
                      f"Europe/Helsinki, not {TIME_ZONE!r}") from None
USE_I18N = True
USE_TZ = True

# Static files ---------------------------------------------------------------------------

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# Request limits: a help request is a few hundred bytes. Anything far bigger is abuse
# or a broken client, and gets a clear 413 before it is parsed.
SPOTLINE_MAX_BODY_BYTES = env_int("SPOTLINE_MAX_BODY_BYTES", 16 * 1024, minimum=1024)
SPOTLINE_MAX_HOOK_BODY_BYTES = 64 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = max(SPOTLINE_MAX_BODY_BYTES, SPOTLINE_MAX_HOOK_BODY_BYTES)

# Metrics (/metrics, spotline/ops): with a token, scrapes must send
# "Authorization: Bearer <token>"; without one, only this machine may scrape.
SPOTLINE_METRICS_TOKEN = env_secret("SPOTLINE_METRICS_TOKEN")

# Rate limits (spotline/ratelimit.py): requests per minute from one client (an IP
# address; for SMS, a sending number) and from everyone together, per endpoint group.
# Each is far above what a person in an emergency sends; 0 turns a limit off.
_RATE_DEFAULTS = {"help": (10, 600), "checkin": (10, 600), "answer": (60, 3000),
                  "track": (120, 6000), "sms": (30, 600), "login": (20, 600),
                  "suggest": (120, 6000), "search": (240, 6000),
                  "alerts": (60, 600), "alert_forms": (10, 600), "reports": (30, 300),
                  "planner": (10, 60)}
SPOTLINE_RATE_LIMITS = {
    group: (env_int(f"SPOTLINE_RATE_{group.upper()}", per_client, minimum=0),
            env_int(f"SPOTLINE_RATE_{group.upper()}_GLOBAL", everyone, minimum=0))
    for group, (per_client, everyone) in _RATE_DEFAULTS.items()
}
# Peers whose X-Forwarded-For is believed: the reverse proxy in front (IPs or networks).
SPOTLINE_TRUSTED_PROXIES = env_list("SPOTLINE_TRUSTED_PROXIES", "127.0.0.1,::1")
for _proxy in SPOTLINE_TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy)
    except ValueError:
        raise ConfigError("SPOTLINE_TRUSTED_PROXIES takes IP addresses or networks "
                          f"(e.g. 10.0.0.0/8), not {_proxy!r}") from None
# The counters live in the "ratelimit" cache: Redis when there is one, so every web
# process counts against the same limits; this process's memory otherwise. Short
# timeouts: when Redis is down the limiter lets requests through at once (fail open).
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "ratelimit": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
        "KEY_PREFIX": "spotline", "OPTIONS": {"socket_connect_timeout": 0.5,
                                              "socket_timeout": 0.5},
    } if REDIS_URL else {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "spotline-ratelimit",
    },
}

# Dispatch policy --------------------------------------------------------------------------


def _priority_policy(priority: Priority) -> PriorityPolicy:
    default = DEFAULT_POLICY[priority]
    prefix = f"SPOTLINE_{priority.value}"
    return PriorityPolicy(
        offers_per_round=env_int(f"{prefix}_OFFERS", default.offers_per_round, minimum=1),
        offer_expiry=timedelta(
            seconds=env_int(
                f"{prefix}_OFFER_EXPIRY_SECONDS",
                int(default.offer_expiry.total_seconds()),
                minimum=5,
            )
        ),
        deadline=timedelta(
            seconds=env_int(
                f"{prefix}_DEADLINE_SECONDS", int(default.deadline.total_seconds()), minimum=5
            )
        ),
        auto_ems=priority.value in _AUTO_EMS,
        # 0 turns each of these off (no cap; never ask a decliner again; an ambulance
        # only at the deadline).
        max_eta=_off_or(env_float(f"{prefix}_MAX_ETA_MINUTES", _minutes(default.max_eta),
                                  minimum=0), "minutes"),
        reoffer_after=_off_or(env_float(f"{prefix}_REOFFER_AFTER_SECONDS",
                                        _minutes(default.reoffer_after) * 60, minimum=0),
                              "seconds"),
        ems_target=_off_or(env_float(f"{prefix}_EMS_TARGET_MINUTES",
                                     _minutes(default.ems_target), minimum=0), "minutes"),
    )


def _minutes(value: timedelta | None) -> float:
    return 0.0 if value is None else value.total_seconds() / 60


def _off_or(n: float, unit: str) -> timedelta | None:
    return None if n == 0 else timedelta(**{unit: n})


_AUTO_EMS = {p.upper() for p in env_list("SPOTLINE_AUTO_EMS")}
if _AUTO_EMS - {p.value for p in Priority}:
    raise ConfigError(f"SPOTLINE_AUTO_EMS takes P1, P2 or P3, not {sorted(_AUTO_EMS)}")

SPOTLINE_POLICY = DispatchPolicy(by_priority={p: _priority_policy(p) for p in Priority})
SPOTLINE_DETOUR_FACTOR = env_float("SPOTLINE_DETOUR_FACTOR", 1.4, minimum=1.0)
SPOTLINE_RETENTION_HOURS = env_int("SPOTLINE_RETENTION_HOURS", 72, minimum=0)
SPOTLINE_MAX_OPEN_HOURS = env_int("SPOTLINE_MAX_OPEN_HOURS", 12, minimum=1)
SPOTLINE_CHECKIN_GRACE_SECONDS = env_int("SPOTLINE_CHECKIN_GRACE_SECONDS", 60, minimum=10)
# A responder's safety timer on scene (minutes; they can extend it from the app).
SPOTLINE_SAFETY_MINUTES = env_int("SPOTLINE_SAFETY_MINUTES", 15, minimum=1)
# Saved check-in plans unused this long are deleted (the person can delete them sooner).
SPOTLINE_PLAN_KEEP_DAYS = env_int("SPOTLINE_PLAN_KEEP_DAYS", 30, minimum=1)
SPOTLINE_WORKER_POLL_SECONDS = env_float("SPOTLINE_WORKER_POLL_SECONDS", 0.5, minimum=0.05)
SPOTLINE_ORG_NAME = env_str("SPOTLINE_ORG_NAME", "Spotline")

# Community drug alerts (docs/alerts.md) ---------------------------------------------------

# A coordinator or admin other than the alert's author must publish it.
SPOTLINE_ALERTS_TWO_PERSON = env_bool("SPOTLINE_ALERTS_TWO_PERSON", False)
# Alert texts are spaced at the carrier's rate: a US long code takes about 1 a second,
# a toll-free number 3, a short code 100. 0: no spacing (the console provider, tests).
SPOTLINE_SMS_PER_SECOND = env_float("SPOTLINE_SMS_PER_SECOND", 1.0, minimum=0.0)
# The largest area an organization can define (km²): a city, not a country.
SPOTLINE_AREA_MAX_KM2 = env_float("SPOTLINE_AREA_MAX_KM2", 2500.0, minimum=1.0)
# Program reports and the public dashboard (issue 17; docs/reports.md). A count below
# MIN_CELL is shown as "<MIN_CELL" and hidden again in its complement; durations need
# that many incidents behind them. 11 is the threshold many public-health agencies use.
SPOTLINE_REPORT_MIN_CELL = env_int("SPOTLINE_REPORT_MIN_CELL", 11, minimum=1, maximum=1000)
# The public dashboard's differential-privacy budget per month (pure epsilon, one
# incident added or removed), spent across its figures; smaller is noisier and safer.
SPOTLINE_DASHBOARD_EPSILON = env_float("SPOTLINE_DASHBOARD_EPSILON", 1.0, minimum=0.01,
                                       maximum=10.0)
# How many released months the dashboard shows (a month is released once, after it ends).
SPOTLINE_DASHBOARD_MONTHS = env_int("SPOTLINE_DASHBOARD_MONTHS", 12, minimum=1, maximum=120)
# The planner's page (/planner/, issue 18): each run's export and outputs in a private
# directory here; the export is deleted when the run ends, the rest with the run, by its
# coordinator or after RETENTION_DAYS. Uploads above MAX_UPLOAD_MB get a clear 413.
SPOTLINE_PLANNER_DIR = Path(env_str("SPOTLINE_PLANNER_DIR", str(DATA_DIR / "planner"))).resolve()
SPOTLINE_PLANNER_RETENTION_DAYS = env_int("SPOTLINE_PLANNER_RETENTION_DAYS", 7, minimum=1,
                                          maximum=365)
SPOTLINE_PLANNER_MAX_UPLOAD_MB = env_int("SPOTLINE_PLANNER_MAX_UPLOAD_MB", 200, minimum=1,
                                         maximum=1024)
# The organization's OpenStreetMap extract (.osm.pbf) for the page's runs to travel by
# road (spotline.planner.roads, cached in the data directory); empty: a straight line
# times a detour factor.
SPOTLINE_PLANNER_OSM = env_str("SPOTLINE_PLANNER_OSM", "")
# A run still going after this long is stopped and failed (a hung pool, a hung mount):
# one run at a time, so a run that never ends would hold every later one back.
SPOTLINE_PLANNER_MAX_RUN_MINUTES = env_int("SPOTLINE_PLANNER_MAX_RUN_MINUTES", 120, minimum=1,
                                           maximum=7 * 24 * 60)
# Cores a run's staffing search may use; 0: all but one (the worker keeps a core).
SPOTLINE_PLANNER_JOBS = env_int("SPOTLINE_PLANNER_JOBS", 0, minimum=0, maximum=256)
# POST paths whose view streams a file upload to disk under its own limit: the body
# limit above does not read or bound them (spotline/api/middleware.py).
SPOTLINE_STREAMED_UPLOADS = ("/planner/",)
# Spikes (core.spikes): overdoses in the last WINDOW hours against the area's own
# BASELINE days before, a Poisson upper tail at ALPHA, at least MIN_COUNT overdoses.
SPOTLINE_SPIKE_WINDOW_HOURS = env_int("SPOTLINE_SPIKE_WINDOW_HOURS", 6, minimum=1, maximum=168)
SPOTLINE_SPIKE_BASELINE_DAYS = env_int("SPOTLINE_SPIKE_BASELINE_DAYS", 28, minimum=1,
                                       maximum=365)
SPOTLINE_SPIKE_MIN_COUNT = env_int("SPOTLINE_SPIKE_MIN_COUNT", 3, minimum=1)
SPOTLINE_SPIKE_ALPHA = env_float("SPOTLINE_SPIKE_ALPHA", 0.01, minimum=1e-9, maximum=0.5)
# Web Push services an anonymous alert subscription may point at: the worker posts to
# the endpoint a browser gave, so an endpoint elsewhere would make the server post to any
# address someone typed. The browsers' own services; add others (a self-hosted one).
SPOTLINE_PUSH_SERVICE_HOSTS = env_list("SPOTLINE_PUSH_SERVICE_HOSTS") or [
    "fcm.googleapis.com", "android.googleapis.com", "updates.push.services.mozilla.com",
    "push.services.mozilla.com", "notify.windows.com", "push.apple.com"]
# CAP's <sender>: who issues the alerts, as other systems will see it.
SPOTLINE_CAP_SENDER = env_str("SPOTLINE_CAP_SENDER",
                              f"alerts@{urlsplit(SPOTLINE_SITE_URL).hostname or 'localhost'}")

# Messaging --------------------------------------------------------------------------------

SPOTLINE_SMS_PROVIDER = env_str("SPOTLINE_SMS_PROVIDER", "console")
if SPOTLINE_SMS_PROVIDER not in ("console", "twilio"):
    raise ConfigError("SPOTLINE_SMS_PROVIDER is console or twilio")
# Console (nothing leaves the machine) unless a real provider is configured.
SPOTLINE_PROVIDERS = ["twilio"] if SPOTLINE_SMS_PROVIDER == "twilio" else ["console"]
# Email: Django's SMTP settings. On when EMAIL_HOST is set.
EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1, maximum=65535)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_secret("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("SPOTLINE_FROM_EMAIL", "spotline@localhost")
SPOTLINE_EMAIL_DOMAIN = DEFAULT_FROM_EMAIL.rpartition("@")[2] or "localhost"
if EMAIL_HOST:
    SPOTLINE_PROVIDERS.insert(0, "email")
# Web Push to the responder app (VAPID). On when both keys are set; generate them with
# `vapid --gen` (py_vapid) and `vapid --applicationServerKey` for the public one.


def _vapid_public_key() -> str:
    key = env_str("SPOTLINE_VAPID_PUBLIC_KEY").strip().rstrip("=")
    try:
        point = base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))
    except ValueError:
        point = b""
    if key and (len(point) != 65 or point[0] != 4):
        raise ConfigError("SPOTLINE_VAPID_PUBLIC_KEY is a base64url P-256 public key "
                          "(65 bytes, uncompressed), as `vapid --applicationServerKey` prints")
    return key


SPOTLINE_VAPID_PUBLIC_KEY = _vapid_public_key()
SPOTLINE_VAPID_PRIVATE_KEY = env_secret("SPOTLINE_VAPID_PRIVATE_KEY")
SPOTLINE_VAPID_SUBJECT = env_str("SPOTLINE_VAPID_SUBJECT", "mailto:admin@localhost")
if bool(SPOTLINE_VAPID_PUBLIC_KEY) != bool(SPOTLINE_VAPID_PRIVATE_KEY):
    raise ConfigError("SPOTLINE_VAPID_PUBLIC_KEY and SPOTLINE_VAPID_PRIVATE_KEY go together")
if SPOTLINE_VAPID_PUBLIC_KEY:
    if not SPOTLINE_VAPID_SUBJECT.startswith(("mailto:", "https://")):
        raise ConfigError("SPOTLINE_VAPID_SUBJECT is a mailto: or https:// address")
    SPOTLINE_PROVIDERS.insert(0, "webpush")
TWILIO_ACCOUNT_SID = env_str("TWILIO_ACCOUNT_SID")
TWILIO_AUTH_TOKEN = env_secret("TWILIO_AUTH_TOKEN")
TWILIO_FROM_NUMBER = env_str("TWILIO_FROM_NUMBER")
TWILIO_API_BASE = env_str("TWILIO_API_BASE", "https://api.twilio.com")
if SPOTLINE_SMS_PROVIDER == "twilio" and not (
    TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER
):
    raise ConfigError(
        "SPOTLINE_SMS_PROVIDER=twilio needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN "
        "and TWILIO_FROM_NUMBER"
    )
SPOTLINE_OUTBOX_LEASE_SECONDS = env_int("SPOTLINE_OUTBOX_LEASE_SECONDS", 15, minimum=1)
DEFAULT_OFFER_CHANNELS = ["push", "sms", "voice"]
# A P1 offer still unanswered after this long rings the responder's phone.
SPOTLINE_OFFER_CALL_AFTER_SECONDS = env_int("SPOTLINE_OFFER_CALL_AFTER_SECONDS", 20, minimum=5)
# A phone line people can call for a person, shown while nobody has accepted.
SPOTLINE_HOTLINE = env_str("SPOTLINE_HOTLINE", "")
# The emergency number a person may choose to call for an ambulance themselves, shown
# (tap to call) while nobody has accepted. Spotline never dials it. "112" works from
# mobile phones across Europe and in many other countries; set "911" in the US and
# Canada, or "" to show no number.
SPOTLINE_EMERGENCY_NUMBER = env_str("SPOTLINE_EMERGENCY_NUMBER", "112")
if SPOTLINE_EMERGENCY_NUMBER and not re.fullmatch(r"\+?[0-9]{2,15}", SPOTLINE_EMERGENCY_NUMBER):
    raise ConfigError("SPOTLINE_EMERGENCY_NUMBER must be a phone number to dial, digits only "
                      f"(like 112 or 911), not {SPOTLINE_EMERGENCY_NUMBER!r}")

# Logging: IDs and codes only. Never message bodies, phone numbers, names or
# coordinates (ARCHITECTURE.md, "Data that must never leave"). Every line passes one
# redaction step (spotline/logs.py), then is rendered as one JSON object (the default:
# what production's log collectors read, so an unconfigured `spotline run` or
# `spotline worker` writes JSON) or as text for people (`make run` sets text).
SPOTLINE_LOG_FORMAT = env_str("SPOTLINE_LOG_FORMAT").strip().lower() or "json"
if SPOTLINE_LOG_FORMAT not in ("json", "text"):
    raise ConfigError(f"SPOTLINE_LOG_FORMAT is json or text, not {SPOTLINE_LOG_FORMAT!r}")
SPOTLINE_LOG_LEVEL = env_str("SPOTLINE_LOG_LEVEL").strip().upper() or "INFO"
if SPOTLINE_LOG_LEVEL not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
    raise ConfigError("SPOTLINE_LOG_LEVEL is DEBUG, INFO, WARNING, ERROR or CRITICAL, "
                      f"not {SPOTLINE_LOG_LEVEL!r}")
LOGGING_CONFIG = "spotline.logs.configure"  # dictConfig, then structlog on top of it
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"structured": {"()": "spotline.logs.formatter",
                                  "render": SPOTLINE_LOG_FORMAT}},
    "filters": {"no_exception_text": {"()": "spotline.logs.DropExceptionText"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured",
                             "filters": ["no_exception_text"]}},
    "root": {"handlers": ["console"], "level": SPOTLINE_LOG_LEVEL},
    # The twilio library logs request URLs and parameters: numbers and bodies.
    # urllib3 logs request lines: a Web Push endpoint is a capability URL.
    # Django's own handlers are replaced by ours (its mail_admins would mail tracebacks
    # with request data; its dev-server lines would skip the redaction).
    "loggers": {"django": {"handlers": [], "level": "INFO", "propagate": True},
                "django.server": {"handlers": [], "level": "INFO", "propagate": True},
                "django.request": {"level": "ERROR"}, "twilio": {"level": "WARNING"},
                "urllib3": {"level": "WARNING"}},
}
