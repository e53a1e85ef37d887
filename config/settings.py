"""The one settings module. Everything an operator may change comes from the environment.

Every variable is listed, with its default, in `.env.example`. A value that cannot be parsed
stops the process at start-up (see `config/env.py`).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)

# Signs sessions, CSRF tokens and password-reset links. Missing with DEBUG off: refuse to
# start, never fall back to a key that is in this file. Too short or Django's placeholder:
# `check --deploy` fails (config/checks.py), which compose runs before anything starts.
_GENERATE_KEY = 'python -c "import secrets; print(secrets.token_urlsafe(50))"'
_DEVELOPMENT_KEY = "django-insecure-development-only-key-do-not-deploy"  # noqa: S105
SECRET_KEY = env_str("SECRET_KEY", "").strip()
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            f"SECRET_KEY must be set when DEBUG is off; generate one with: {_GENERATE_KEY}"
        )
    SECRET_KEY = _DEVELOPMENT_KEY
elif not DEBUG and SECRET_KEY.startswith("django-insecure-"):
    raise ImproperlyConfigured(
        f"SECRET_KEY is Django's insecure placeholder; generate one with: {_GENERATE_KEY}"
    )

# The names this site answers to (the Host header nginx passes on unchanged) and, for the
# CSRF check on HTTPS, the origins browsers send: https://chat.example.com, comma-separated.
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "axes",
    "csp",
    "chat",
]

# Django's own middleware, without a trip to a worker thread per hook under ASGI.
MIDDLEWARE = [
    "config.middleware.SecurityMiddleware",
    "config.middleware.CSPMiddleware",
    "config.middleware.SessionMiddleware",
    "config.middleware.CommonMiddleware",
    "config.middleware.CsrfViewMiddleware",
    "config.middleware.AuthenticationMiddleware",
    "config.middleware.MessageMiddleware",
    "config.middleware.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a locked-out log-in into its lockout answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"

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
            ],
        },
    },
]

# --- Database: SQLite on a laptop, PostgreSQL (psycopg 3, pooled) when DATABASE_URL is set.
DATABASE_URL = env_str("DATABASE_URL", "")
if DATABASE_URL:
    _db = dj_database_url.parse(DATABASE_URL)
    if _db["ENGINE"] == "django.db.backends.postgresql":
        _db.setdefault("OPTIONS", {})["pool"] = {
            "min_size": env_int("DATABASE_POOL_MIN", 1),
            "max_size": env_int("DATABASE_POOL_MAX", 10, minimum=1),
            # How long a request waits for a connection before it fails: psycopg's 30 s
            # default would hold the worker thread every sync view shares for that long.
            "timeout": env_float("DATABASE_POOL_TIMEOUT", 5.0, minimum=0.1),
        }
        _db["CONN_MAX_AGE"] = 0  # the pool owns connection reuse
    DATABASES = {"default": _db}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env_str("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
            # Reused across requests: opening a connection and setting WAL costs milliseconds.
            "CONN_MAX_AGE": 600,
            "CONN_HEALTH_CHECKS": True,
            # WAL: readers never wait for the run engine's writes, and a commit is an
            # append, not a journal rewrite with several fsyncs.
            "OPTIONS": {
                # How long a write waits for another's lock before it fails (the API then
                # answers 503 database_unavailable).
                "timeout": env_float("SQLITE_TIMEOUT", 20.0, minimum=0.1),
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Channel layer: in-memory on a laptop, Redis when REDIS_URL is set. It carries control
# messages only (run.started, run.settled: a couple per run); tokens go from the run engine to
# sockets directly within a process, and through Redis streams across processes. channels_redis'
# sorted-set layer, not its pub/sub one: pub/sub was faster in bench/channel_layers.py but lost
# the messages published while a process reconnected; this one keeps them in Redis for
# `expiry` seconds, at most `capacity` per process (docs/deploy.md, "The channel layer").
REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "chat.fanout.layers.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "capacity": 1500, "expiry": 60},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
# Django's cache holds counters that every process must share (sign-ups per address): Redis
# when there is one, else the process's memory (Django's default).
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
CSRF_FAILURE_VIEW = "chat.views.errors.csrf_failure"

# --- Log-in throttling (django-axes), on the site's log-in page and the admin's. After
# LOGIN_FAILURE_LIMIT wrong passwords in a row for one account, or from one address, log-ins
# for it are refused (429, with Retry-After) for LOGIN_LOCKOUT_MINUTES after the last attempt,
# the right password included. Attempts are rows in the database, shared by every process.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: it refuses a locked-out attempt
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_float("LOGIN_LOCKOUT_MINUTES", 15.0, minimum=0.1))
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]  # each counted on its own
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "chat.views.lockout.locked_out"
AXES_CLIENT_IP_CALLABLE = "config.client_ip.client_ip"
AXES_DISABLE_ACCESS_LOG = True  # a row per successful log-in, kept for ever: not wanted
# New accounts from one address in a clock hour (chat/signup_limit.py).
SIGNUPS_PER_HOUR = env_int("SIGNUPS_PER_HOUR", 5, minimum=1)
# How many proxies in front of the app append to X-Forwarded-For (config/client_ip.py): the
# address log-ins and sign-ups are counted by. 1 behind nginx, 2 with a TLS terminator too.
TRUSTED_PROXY_HOPS = env_int("TRUSTED_PROXY_HOPS", 0)
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
# nginx serves /static/ in production (deploy/nginx.conf). Without it, the ASGI app serves
# them itself (config/asgi.py), by default only when DEBUG is on.
SERVE_STATIC = env_bool("SERVE_STATIC", DEBUG)
# collectstatic also writes a .br and a .gz beside each text file (config/static_storage.py).
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "config.static_storage.CompressedStaticFilesStorage"},
}

# --- Security. Production values come from the environment; `check --deploy` is clean
# when DEBUG=0 and the HTTPS variables are on (see docs/deploy.md).
# TLS ends in front of nginx, which passes on the scheme the browser used in
# X-Forwarded-Proto (deploy/nginx.conf.template). Trusting it is safe only because nothing
# but that proxy can reach a daphne process.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
# Probes (compose, a load balancer) speak plain HTTP to a process or to nginx: a redirect to
# https would read as "unhealthy".
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
# Off until an operator opts in: a browser that saw HSTS refuses plain HTTP to the host for
# this many seconds, so turning it on for a host without working TLS locks users out.
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp) on every response: scripts, styles, fonts and
# connections (fetch, WebSocket) from this site only; images from this site and data: URLs.
# A reply is the model's text, which a prompt injection can write: a remote image in it would
# be fetched when shown, its URL carrying whatever the conversation said. The UI shows such
# images as links (static/chat/render.js); this policy stops the fetch if one slips through.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
# Our deploy checks (weak SECRET_KEY, HSTS preload prerequisites) for `check --deploy`.
import config.checks  # noqa: E402,F401

# Django finds its security, CSRF and clickjacking middleware by dotted path only; these three
# are reported by config/checks.py instead, which accepts subclasses (config.W011-W013).
SILENCED_SYSTEM_CHECKS = ["security.W001", "security.W002", "security.W003"]

LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfigured(f"LOG_LEVEL must be a logging level name, got {LOG_LEVEL!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # django-axes says at INFO that it started, in every process and command; its failed
    # attempts and lockouts are warnings.
    "loggers": {"axes.apps": {"level": "WARNING"}},
}

# --- The assistant upstream and the run engine.
PORT = env_int("PORT", 8000, minimum=1)
# What an assistant edited in the admin may name as its API key's variable (api_key_env):
# these names, or names with this prefix; never one of the variables read here
# (chat/upstream_policy.py). Neither set: assistants send no key from the environment.
UPSTREAM_KEY_VARIABLES = env_list("UPSTREAM_KEY_VARIABLES", [])
UPSTREAM_KEY_PREFIX = env_str("UPSTREAM_KEY_PREFIX", "")
# The hosts an assistant's base_url may name (".example.com" for its subdomains too); empty:
# any host, over http or https.
UPSTREAM_HOSTS = env_list("UPSTREAM_HOSTS", [])
# The simulator is mounted in this app at /sim/ so that `make run` needs no second process; in
# production it would run anyone's requests in the web process, so by default only with DEBUG
# (config/simulator_mount.py; `check --deploy` warns when it is on).
SIMULATOR_MOUNT = env_bool("SIMULATOR_MOUNT", DEBUG)
SIMULATOR_URL = env_str("SIMULATOR_URL", f"http://127.0.0.1:{PORT}/sim/v1")
UPSTREAM_CONNECT_TIMEOUT = env_float("UPSTREAM_CONNECT_TIMEOUT", 10.0, minimum=0.1)
# The longest silence between two chunks of an upstream's answer (httpx's read timeout). A
# slow model may think for a long time before its first token: far above httpx's 5 s.
UPSTREAM_STALL_TIMEOUT = env_float("UPSTREAM_STALL_TIMEOUT", 120.0, minimum=0.1)
# After this long without an upstream event, the browser shows "waiting for the model", and an
# upstream that keeps runs is asked whether it already finished (chat/runs/silence.py).
UPSTREAM_SILENCE_NOTICE_SECONDS = env_float("UPSTREAM_SILENCE_NOTICE_SECONDS", 15.0, minimum=0.1)
UPSTREAM_MAX_RETRIES = env_int("UPSTREAM_MAX_RETRIES", 3)
# Stateless upstreams get the thread's history within this many (estimated) tokens.
CONTEXT_BUDGET_TOKENS = env_int("CONTEXT_BUDGET_TOKENS", 16000, minimum=100)
RUN_CHECKPOINT_SECONDS = env_float("RUN_CHECKPOINT_SECONDS", 1.0, minimum=0.05)
MAX_MESSAGE_CHARS = env_int("MAX_MESSAGE_CHARS", 32000, minimum=1)
RUNS_PER_MINUTE = env_int("RUNS_PER_MINUTE", 20, minimum=1)
# With a token budget: what a run holds at its start beyond its prompt, and asks for again
# each time it has used it (chat.budgets.ledger).
BUDGET_RUN_ALLOWANCE_TOKENS = env_int("BUDGET_RUN_ALLOWANCE_TOKENS", 2000, minimum=1)
WS_HEARTBEAT_SECONDS = env_float("WS_HEARTBEAT_SECONDS", 20.0, minimum=0.5)
# How often an open socket's session is read again (at a heartbeat): a password change, a
# deactivated account or an expired session closes the socket within this (chat.socket_session).
WS_SESSION_CHECK_SECONDS = env_float("WS_SESSION_CHECK_SECONDS", 300.0, minimum=0.0)
WS_MAX_FRAME_BYTES = env_int("WS_MAX_FRAME_BYTES", 65536, minimum=1024)
# Sockets one user may hold open at once, across processes with Redis (chat/socket_cap.py):
# one per open chat tab.
WS_MAX_SOCKETS_PER_USER = env_int("WS_MAX_SOCKETS_PER_USER", 20, minimum=1)
TOOL_TIMEOUT_SECONDS = env_float("TOOL_TIMEOUT_SECONDS", 15.0, minimum=0.1)
MAX_TOOL_ROUNDS = env_int("MAX_TOOL_ROUNDS", 8, minimum=1)
# How long a run waits in requires_action for a client's function outputs (the API's runs
# expire after ten minutes).
CLIENT_TOOL_WAIT_SECONDS = env_float("CLIENT_TOOL_WAIT_SECONDS", 600.0, minimum=1.0)
WEATHER_GEOCODING_URL = env_str(
    "WEATHER_GEOCODING_URL", "https://geocoding-api.open-meteo.com/v1/search"
)
WEATHER_FORECAST_URL = env_str("WEATHER_FORECAST_URL", "https://api.open-meteo.com/v1/forecast")

# --- Runs across processes (docs/deploy.md). With REDIS_URL set, every run's event log is
# also a Redis stream, so any server process can serve any socket. RUN_EXECUTION=worker hands
# runs to `manage.py run_worker` processes instead of executing them in the web process.
RUN_EXECUTION = env_str("RUN_EXECUTION", "inline")
if RUN_EXECUTION not in {"inline", "worker"}:
    raise ImproperlyConfigured(f"RUN_EXECUTION must be 'inline' or 'worker', got {RUN_EXECUTION!r}")
if RUN_EXECUTION == "worker" and not REDIS_URL:
    raise ImproperlyConfigured("RUN_EXECUTION=worker needs REDIS_URL (workers are fed through it)")
# A worker renews its claim on the runs it executes every third of this; a run whose claim has
# run out for this long is taken over by another worker.
RUN_LEASE_SECONDS = env_float("RUN_LEASE_SECONDS", 15.0, minimum=1.0)
# How many runs one worker process streams at once.
WORKER_MAX_RUNS = env_int("WORKER_MAX_RUNS", 500, minimum=1)
# The Redis stream of a run's events: at most this many entries, kept this long after the end.
RUN_LOG_MAX_EVENTS = env_int("RUN_LOG_MAX_EVENTS", 250000, minimum=100)
RUN_LOG_TTL_SECONDS = env_int("RUN_LOG_TTL_SECONDS", 300, minimum=1)
# Every key this app keeps in Redis starts with this: deployments sharing a Redis differ here.
REDIS_KEY_PREFIX = env_str("REDIS_KEY_PREFIX", "chat")
