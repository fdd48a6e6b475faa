"""The one settings module, driven by the environment.

Defaults describe the embedded profile (SQLite, an embedded Redis started by `dev.py start`, loopback
only); production sets DATABASE_URL-style variables, REDIS_URL, SECRET_KEY and ALLOWED_HOSTS (every
variable is listed in docs/operations.md). DEBUG is off unless DEBUG=true.
"""

import os
from datetime import timedelta
from pathlib import Path

from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from .env import env_bool, env_int, env_list, env_str, persistent_secret

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("GOVERNANCE_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)  # SQLite files live here in the embedded profile

# Django's debug pages list every URL pattern and show settings and tracebacks: only on request.
DEBUG = env_bool("DEBUG", False)

# Two profiles. "embedded" (`python3 dev.py start`, the tests): the site answers on this machine's
# loopback names only, so plain HTTP is fine and the secret key is generated once into the var
# directory. "production": the site answers to real host names, so it is HTTPS-only and SECRET_KEY
# must be given. By default the profile follows ALLOWED_HOSTS.
_LOOPBACK_HOSTS = ["localhost", "127.0.0.1", "[::1]", "testserver"]
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", _LOOPBACK_HOSTS)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
_loopback_only = set(ALLOWED_HOSTS) <= set(_LOOPBACK_HOSTS)
GOVERNANCE_PROFILE = env_str("GOVERNANCE_PROFILE", "embedded" if _loopback_only else "production")
if GOVERNANCE_PROFILE not in ("embedded", "production"):
    raise ImproperlyConfigured(f"GOVERNANCE_PROFILE must be embedded or production, got {GOVERNANCE_PROFILE!r}")
if GOVERNANCE_PROFILE == "embedded" and not _loopback_only:
    raise ImproperlyConfigured(
        f"GOVERNANCE_PROFILE=embedded serves this machine only (plain HTTP, a generated key), but ALLOWED_HOSTS "
        f"names {', '.join(sorted(set(ALLOWED_HOSTS) - set(_LOOPBACK_HOSTS)))}. To serve other machines, set "
        "GOVERNANCE_PROFILE=production with SECRET_KEY (see docs/operations.md)."
    )

# A key that was once the built-in default is public: refused like a missing one.
_PUBLIC_SECRET_KEYS = ("", "embedded-profile-insecure-key-change-me")
if GOVERNANCE_PROFILE == "embedded":
    SECRET_KEY = env_str("SECRET_KEY") or persistent_secret(VAR_DIR / "secret_key")
else:
    SECRET_KEY = env_str("SECRET_KEY")
    if SECRET_KEY in _PUBLIC_SECRET_KEYS:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set in the production profile (ALLOWED_HOSTS names hosts beyond this machine): "
            "set it to a long random value (50+ characters), e.g. the output of "
            "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`."
        )

if GOVERNANCE_PROFILE == "production":
    # HTTPS only. Behind a proxy that terminates TLS, set SECURE_PROXY_SSL_HEADER so
    # Django knows the original request was HTTPS (or SECURE_SSL_REDIRECT=false if the proxy
    # already redirects plain HTTP).
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = env_list("SECURE_REDIRECT_EXEMPT", [])
    if env_str("SECURE_PROXY_SSL_HEADER"):
        _header, _, _value = env_str("SECURE_PROXY_SSL_HEADER").partition(",")
        if not _header.strip() or not _value.strip():
            raise ImproperlyConfigured(
                "SECURE_PROXY_SSL_HEADER must be 'HEADER,value', e.g. 'HTTP_X_FORWARDED_PROTO,https', "
                f"got {env_str('SECURE_PROXY_SSL_HEADER')!r}"
            )
        SECURE_PROXY_SSL_HEADER = (_header.strip(), _value.strip())
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    # HSTS starts at one hour, so a mistake wears off quickly; raise it (e.g. to 31536000) once
    # HTTPS is known to work for this host and every subdomain of it.
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    # Asking browsers to preload HSTS is a decision to take on purpose (hstspreload.org), not a
    # default; `check --deploy` flags its absence (security.W021), so that one check is silenced
    # while it is off.
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    if not SECURE_HSTS_PRELOAD:
        SILENCED_SYSTEM_CHECKS = ["security.W021"]

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "channels",
    "ninja",  # in INSTALLED_APPS so its docs page uses the Swagger UI files it ships, not a CDN
    "axes",
    "csp",
    "governance",
    "runs",
    "approvals",
    "notifications",
    "audit",
    "agents",
    "insights",
    "web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",  # static files answer here, before everything below
    "csp.middleware.CSPMiddleware",
    "web.middleware.NoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "web.middleware.SessionActivityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "audit.middleware.ConfigurationAuditMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes requires: turns a lockout into its page
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
                "approvals.context_processors.nav",
            ],
        },
    },
]

if env_str("DATABASE_URL"):
    # Production: PostgreSQL (or anything dj-database-url reads). Each process keeps a pool of
    # connections (Django's, psycopg_pool): opening a PostgreSQL connection per request or per
    # websocket read costs more than most reads, and the ASGI server's threads come and go, so
    # per-thread persistent connections (DATABASE_CONN_MAX_AGE) are the alternative, not the default.
    import dj_database_url

    DATABASE_POOL = env_bool("DATABASE_POOL", True)
    DATABASES = {
        "default": dj_database_url.parse(
            env_str("DATABASE_URL"), conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0), conn_health_checks=True
        )
    }
    if DATABASE_POOL and DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        if DATABASES["default"]["CONN_MAX_AGE"]:
            raise ImproperlyConfigured("DATABASE_CONN_MAX_AGE needs DATABASE_POOL=false: a pooled connection "
                                       "goes back to the pool after each request instead")
        # With CONN_HEALTH_CHECKS the pool checks a connection before it lends it (a restarted server).
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": 1, "max_size": env_int("DATABASE_POOL_MAX_SIZE", 8), "timeout": 10,
        }
    # One test database per test process, so two test runs against one server do not collide.
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{os.getpid()}"}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env_str("SQLITE_PATH", str(VAR_DIR / "db.sqlite3")),
            # The web server and the workers write concurrently: WAL lets readers go on during a
            # write, IMMEDIATE takes the write lock at BEGIN (no deadlock upgrading a read lock),
            # and writers wait up to 20 s for each other instead of failing at once.
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            # A file, not shared-cache memory: memory databases fail concurrent writers with
            # "table is locked". One per test process, so two test runs at once do not share it.
            "TEST": {"NAME": str(VAR_DIR / f"test-db-{os.getpid()}.sqlite3")},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
# WhiteNoise serves static files from the ASGI app itself. Production serves what `collectstatic`
# wrote to STATIC_ROOT (the Procfile's release step): names carry a content hash (cached forever)
# and gzip/brotli copies sit beside them. The embedded profile serves the same files straight from
# the app directories (WHITENOISE_USE_FINDERS): no build step at each start, nothing in var/ to go
# stale after a checkout changes a file, and the tests need none either. Only the file names and
# cache lifetimes differ from production, never what a page shows; tests/config/test_production.py
# covers the collected files.
_COLLECTED_STATIC = GOVERNANCE_PROFILE == "production"
WHITENOISE_USE_FINDERS = not _COLLECTED_STATIC
WHITENOISE_AUTOREFRESH = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if _COLLECTED_STATIC
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
# Django's cache holds the API's per-key request counters, so every web process must share it: Redis
# in every real deployment; "locmem" keeps it inside one process (tests, a single-process server).
CACHE_BACKEND = env_str("CACHE_BACKEND", "redis")
if CACHE_BACKEND == "redis":
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
                          "KEY_PREFIX": "gd"}}
elif CACHE_BACKEND == "locmem":
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    raise ImproperlyConfigured(f"CACHE_BACKEND must be redis or locmem, got {CACHE_BACKEND!r}")
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
# Two queues, both consumed by every worker (`-Q priority,default`, the Procfile): new runs go to
# `default`; a reviewer's decision (the resume) and the periodic recovery and expiry go to
# `priority`, so they do not wait behind a backlog of new runs (in the load benchmark, a resume
# behind 200 queued runs waited 50-120 s). Kombu takes from the two queues in turn.
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "runs.resume_run": {"queue": "priority"},
    "runs.recover_stalled_runs": {"queue": "priority"},
    "approvals.expire_overdue": {"queue": "priority"},
}

# Governance: which decision backend decides tool calls ("embedded" or "bighub").
GOVERNANCE_DECISION_BACKEND = env_str("GOVERNANCE_DECISION_BACKEND", "embedded")
BIGHUB_API_KEY = env_str("BIGHUB_API_KEY", "")
BIGHUB_BASE_URL = env_str("BIGHUB_BASE_URL", "")
OPENAI_API_KEY = env_str("OPENAI_API_KEY", "")
GOVERNANCE_MAX_TOOL_ROUNDS = env_int("GOVERNANCE_MAX_TOOL_ROUNDS", 8)

# Every handler scrubs API keys out of messages and tracebacks (config/celery.py does the same for
# the handlers Celery installs in workers).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"no_secrets": {"()": "governance.redaction.SecretsLogFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["no_secrets"]}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

# Changes to these models (created, changed, deleted, many-to-many lists) are audit records of kind
# "configuration", naming who made them; fields named like credentials are never stored (see
# docs/audit.md). One line per model, e.g. "agents.AgentKey" once that app exists.
GOVERNANCE_AUDITED_MODELS = [
    "governance.ToolRegistration",
    "governance.Policy",
    "governance.DomainDefault",
    "governance.PolicySetVersion",  # each version of the policy set: its number, author, comment and diff
    "governance.Pause",
    "governance.PolicyExample",  # the calls the policy set must decide in a given way
    "approvals.DenyReason",
    "auth.User",
    "auth.Group",
    "agents.AgentKey",
    "notifications.WebhookEndpoint",
]

# Admins may register only callables from these packages (comma-separated module prefixes).
GOVERNANCE_TOOL_MODULE_PREFIXES = env_list("GOVERNANCE_TOOL_MODULE_PREFIXES", ["governance.demo_tools"])
# Members of this group may approve or deny; whoever started a run may not approve its requests
# unless GOVERNANCE_ALLOW_SELF_APPROVAL is true.
# The group the demo data gives the reviewer permissions to; being a reviewer is holding
# approvals.resolve_approvalrequest (governance/permissions.py), whatever the group is called.
REVIEWERS_GROUP = env_str("GOVERNANCE_REVIEWERS_GROUP", "reviewers")
GOVERNANCE_ALLOW_SELF_APPROVAL = env_bool("GOVERNANCE_ALLOW_SELF_APPROVAL", False)
# A domain set to "observe only" lets every call through (its decisions only recorded): allowed by default
# in the embedded profile, refused in production unless this is true (governance/observe.py).
GOVERNANCE_ALLOW_OBSERVE_ONLY = env_bool("GOVERNANCE_ALLOW_OBSERVE_ONLY", GOVERNANCE_PROFILE == "embedded")
# Every pending approval request has a deadline (approvals/deadlines.py): a tool's own "approval window",
# else this many seconds. At half of it a reminder goes out; at its end the request escalates (once) to
# the tool's escalation group, or expires (counts as a denial). Must be more than 0.
GOVERNANCE_APPROVAL_TTL_SECONDS = env_int("GOVERNANCE_APPROVAL_TTL_SECONDS", 24 * 3600)
if GOVERNANCE_APPROVAL_TTL_SECONDS <= 0:
    raise ImproperlyConfigured("GOVERNANCE_APPROVAL_TTL_SECONDS must be more than 0: every approval request "
                               f"has a deadline (got {GOVERNANCE_APPROVAL_TTL_SECONDS})")
# The BIGHUB-compatible API (/bighub/, docs/api.md): requests per key per minute (429 above it), and
# the largest request body it reads (413 above it; Django's DATA_UPLOAD_MAX_MEMORY_SIZE).
GOVERNANCE_API_RATE_LIMIT_PER_MINUTE = env_int("GOVERNANCE_API_RATE_LIMIT_PER_MINUTE", 600)
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("GOVERNANCE_API_MAX_BODY_BYTES", 1024 * 1024)
# GET /bighub/approvals/{id}?wait=S waits at most this long (a longer wait is cut to it), and while it
# waits looks at the database this often besides the channel layer's messages (agents/approval_wait.py).
GOVERNANCE_API_MAX_WAIT_SECONDS = env_int("GOVERNANCE_API_MAX_WAIT_SECONDS", 30)
GOVERNANCE_APPROVAL_WAIT_RECHECK_SECONDS = env_int("GOVERNANCE_APPROVAL_WAIT_RECHECK_MS", 250) / 1000
if GOVERNANCE_API_MAX_WAIT_SECONDS < 0 or GOVERNANCE_APPROVAL_WAIT_RECHECK_SECONDS <= 0:
    raise ImproperlyConfigured("GOVERNANCE_API_MAX_WAIT_SECONDS must be 0 or more and "
                               "GOVERNANCE_APPROVAL_WAIT_RECHECK_MS more than 0")
# POST /bighub/rules/dry-run replays inside the request: a window holding more recorded decisions of the
# rule's domain than this is refused (422 naming the count; a smaller `days` is the way). Must be more than 0.
GOVERNANCE_API_DRY_RUN_MAX_DECISIONS = env_int("GOVERNANCE_API_DRY_RUN_MAX_DECISIONS", 200_000)
if GOVERNANCE_API_DRY_RUN_MAX_DECISIONS <= 0:
    raise ImproperlyConfigured("GOVERNANCE_API_DRY_RUN_MAX_DECISIONS must be more than 0 "
                               f"(got {GOVERNANCE_API_DRY_RUN_MAX_DECISIONS})")
# The dashboard's address as agents reach it, for the `approval_url` of the API's answers (e.g.
# https://governance.example.com); empty: the address the agent's request came to.
GOVERNANCE_PUBLIC_URL = env_str("GOVERNANCE_PUBLIC_URL", "").rstrip("/")
if GOVERNANCE_PUBLIC_URL and not GOVERNANCE_PUBLIC_URL.startswith(("https://", "http://")):
    raise ImproperlyConfigured(
        f"GOVERNANCE_PUBLIC_URL must start with https:// or http://, got {GOVERNANCE_PUBLIC_URL!r}")
# Links in notifications (emails, webhooks) open the request's page here: GOVERNANCE_PUBLIC_URL, else,
# in the embedded profile, this machine's address on PORT; in production without it the links are bare paths
# and `check --deploy` warns (notifications/checks.py).
GOVERNANCE_LINK_BASE_URL = GOVERNANCE_PUBLIC_URL or (
    f"http://127.0.0.1:{env_int('PORT', 8000)}" if GOVERNANCE_PROFILE == "embedded" else "")
# Email (notifications/emails.py) goes through Django's email backend: printed to the console of the
# process that sends it (the Celery worker) in the embedded profile, SMTP in production.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
                        if GOVERNANCE_PROFILE == "embedded" else "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "governance@localhost")
# Webhook retries (notifications/webhooks.py): the first wait, doubling up to the longest single wait,
# until the waits add up to the window. Keep the longest wait at or under CELERY_VISIBILITY_TIMEOUT:
# Redis hands a countdown held longer than that to a second worker (the attempt's claim makes it harmless).
GOVERNANCE_WEBHOOK_RETRY_FIRST_SECONDS = env_int("GOVERNANCE_WEBHOOK_RETRY_FIRST_SECONDS", 60)
GOVERNANCE_WEBHOOK_RETRY_MAX_WAIT_SECONDS = env_int("GOVERNANCE_WEBHOOK_RETRY_MAX_WAIT_SECONDS", 3600)
GOVERNANCE_WEBHOOK_RETRY_WINDOW_SECONDS = env_int("GOVERNANCE_WEBHOOK_RETRY_WINDOW_SECONDS", 24 * 3600)
if not (0 < GOVERNANCE_WEBHOOK_RETRY_FIRST_SECONDS <= GOVERNANCE_WEBHOOK_RETRY_MAX_WAIT_SECONDS
        and GOVERNANCE_WEBHOOK_RETRY_WINDOW_SECONDS >= 0):
    raise ImproperlyConfigured(
        "GOVERNANCE_WEBHOOK_RETRY_FIRST_SECONDS must be more than 0 and at most "
        "GOVERNANCE_WEBHOOK_RETRY_MAX_WAIT_SECONDS, and GOVERNANCE_WEBHOOK_RETRY_WINDOW_SECONDS 0 or more")
GOVERNANCE_MAX_PROMPT_CHARS = env_int("GOVERNANCE_MAX_PROMPT_CHARS", 20_000)
# The models the start form offers (comma-separated; the first is preselected). Any other name is
# refused unless GOVERNANCE_ALLOW_ANY_MODEL is true, which makes the field free text (the list is
# then only suggested). The offline demo model answers to every name; o-series and gpt-5 names reason.
GOVERNANCE_MODELS = env_list("GOVERNANCE_MODELS", ["gpt-4.1", "gpt-4.1-mini", "o4-mini", "gpt-5"])
GOVERNANCE_ALLOW_ANY_MODEL = env_bool("GOVERNANCE_ALLOW_ANY_MODEL", False)
if not GOVERNANCE_MODELS or any(len(m) > 100 or any(c.isspace() for c in m) for m in GOVERNANCE_MODELS):
    raise ImproperlyConfigured(
        f"GOVERNANCE_MODELS must list at least one model name, comma-separated, each without spaces and at most "
        f"100 characters, e.g. gpt-4.1,o4-mini; got {GOVERNANCE_MODELS!r}"
    )
GOVERNANCE_PROVIDER_MAX_RETRIES = env_int("GOVERNANCE_PROVIDER_MAX_RETRIES", 2)
GOVERNANCE_PROVIDER_TIMEOUT_SECONDS = env_int("GOVERNANCE_PROVIDER_TIMEOUT_SECONDS", 30)
# Recovery of runs whose worker died (runs/heartbeat.py, runs/recovery.py): a worker driving a run
# renews its heartbeat every HEARTBEAT seconds; beat looks every RECOVERY_INTERVAL seconds for runs
# `running` with no heartbeat for STALL seconds and queues them again, at most MAX_RECOVERIES times
# per run (then the run fails: something kills every worker that drives it).
GOVERNANCE_RUN_HEARTBEAT_SECONDS = env_int("GOVERNANCE_RUN_HEARTBEAT_SECONDS", 5)
GOVERNANCE_RUN_STALL_SECONDS = env_int("GOVERNANCE_RUN_STALL_SECONDS", 15)
GOVERNANCE_RUN_RECOVERY_INTERVAL_SECONDS = env_int("GOVERNANCE_RUN_RECOVERY_INTERVAL_SECONDS", 5)
GOVERNANCE_RUN_MAX_RECOVERIES = env_int("GOVERNANCE_RUN_MAX_RECOVERIES", 3)
# A run still queued this long after its last change gets its execution task sent again (the first
# may never have reached Redis); long enough not to flood a busy queue with duplicates.
GOVERNANCE_RUN_QUEUED_RESEND_SECONDS = env_int("GOVERNANCE_RUN_QUEUED_RESEND_SECONDS", 300)
if GOVERNANCE_RUN_HEARTBEAT_SECONDS < 1 or GOVERNANCE_RUN_RECOVERY_INTERVAL_SECONDS < 1:
    raise ImproperlyConfigured(
        "GOVERNANCE_RUN_HEARTBEAT_SECONDS and GOVERNANCE_RUN_RECOVERY_INTERVAL_SECONDS must be at least 1"
    )
if GOVERNANCE_RUN_STALL_SECONDS < 2 * GOVERNANCE_RUN_HEARTBEAT_SECONDS:
    raise ImproperlyConfigured(
        f"GOVERNANCE_RUN_STALL_SECONDS ({GOVERNANCE_RUN_STALL_SECONDS}) must be at least twice "
        f"GOVERNANCE_RUN_HEARTBEAT_SECONDS ({GOVERNANCE_RUN_HEARTBEAT_SECONDS}): one late heartbeat must not "
        "make a live worker's run look abandoned"
    )

# The audit chain's sealer process (audit/sealer.py) seals every this many seconds: records are written
# unsealed and are covered by the hash chain from their seal on (docs/audit.md, "Tamper evidence").
GOVERNANCE_AUDIT_SEAL_INTERVAL_SECONDS = env_int("GOVERNANCE_AUDIT_SEAL_INTERVAL_MS", 500) / 1000
if not 0 < GOVERNANCE_AUDIT_SEAL_INTERVAL_SECONDS <= 60:
    raise ImproperlyConfigured("GOVERNANCE_AUDIT_SEAL_INTERVAL_MS must be more than 0 and at most 60000")

# Channels: Redis in every real deployment (the embedded profile starts one). CHANNEL_LAYER picks
# channels_redis's core layer ("redis", lists + blocking pops) or its pub/sub layer ("redis-pubsub");
# "memory" is for a single process only (tests). docs/benchmarks.md compares the two Redis layers.
CHANNEL_LAYER = env_str("CHANNEL_LAYER", "redis")
if CHANNEL_LAYER == "memory":
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
elif CHANNEL_LAYER == "redis-pubsub":
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                                  "CONFIG": {"hosts": [{"address": REDIS_URL}]}}}
elif CHANNEL_LAYER == "redis":
    # redis-py 8 defaults socket_timeout to 5 s, the same as channels_redis's 5 s blocking pop, so
    # idle receives would fail with "Timeout reading from"; give the socket more than the pop.
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                                  "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 15}]}}}
else:
    raise ImproperlyConfigured(f"CHANNEL_LAYER must be redis, redis-pubsub or memory, got {CHANNEL_LAYER!r}")

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "runs:list"
LOGOUT_REDIRECT_URL = "login"

# Sessions end after SESSION_IDLE_TIMEOUT_SECONDS without a request, and SESSION_MAX_AGE_SECONDS after
# their login whatever happens (web/sessions.py). The store enforces both, so an ended session is gone
# for the websockets too.
SESSION_ENGINE = "web.sessions"
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_TIMEOUT_SECONDS", 60 * 60)
SESSION_MAX_AGE_SECONDS = env_int("SESSION_MAX_AGE_SECONDS", 8 * 3600)
if not 300 <= SESSION_COOKIE_AGE <= SESSION_MAX_AGE_SECONDS:
    raise ImproperlyConfigured(
        f"SESSION_IDLE_TIMEOUT_SECONDS ({SESSION_COOKIE_AGE}) must be at least 300 and at most "
        f"SESSION_MAX_AGE_SECONDS ({SESSION_MAX_AGE_SECONDS})"
    )

# Login throttling (django-axes), on every login form (the dashboard's and the admin's): after
# AXES_FAILURE_LIMIT failed logins for one username (from anywhere) or from one address (for any
# username), further logins for it are refused for AXES_COOLOFF_MINUTES, counted again from each
# refused attempt, with the lockout page (429). Failures older than the cool-off no longer count. A
# successful login clears nothing: django-axes would clear its address's count too, so anyone with an
# account could log in between guesses at another one.
# Admins unlock early in the admin (Axes > Access attempts: delete the rows) or with
# `manage.py axes_reset_username NAME` / `axes_reset_ip ADDRESS`. Behind a proxy, set
# AXES_IPWARE_META_PRECEDENCE_ORDER (e.g. HTTP_X_FORWARDED_FOR) and AXES_IPWARE_PROXY_COUNT, or every
# visitor shares the proxy's address.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out login before any password check
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
_axes_cooloff_minutes = env_int("AXES_COOLOFF_MINUTES", 15)
AXES_COOLOFF_TIME = timedelta(minutes=_axes_cooloff_minutes)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = False
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False  # no banner on every manage.py command; failed logins are still logged (masked)
AXES_IPWARE_META_PRECEDENCE_ORDER = env_list("AXES_IPWARE_META_PRECEDENCE_ORDER", ["REMOTE_ADDR"])
AXES_IPWARE_PROXY_COUNT = env_int("AXES_IPWARE_PROXY_COUNT", 0) or None
if AXES_FAILURE_LIMIT < 1 or _axes_cooloff_minutes < 1:
    raise ImproperlyConfigured("AXES_FAILURE_LIMIT and AXES_COOLOFF_MINUTES must be at least 1")

# Content-Security-Policy (django-csp): the pages load only their own scripts, styles, images and
# fonts, with no inline script or style (htmx's own inline indicator style is switched off in
# base.html), and talk only to their own origin: 'self' in connect-src also covers the websockets
# (ws:/wss: to the same host, CSP Level 3), which is all htmx's ws extension opens.
# tests/browser/test_security.py visits every kind of page and fails on any violation.
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
    },
}

# Celery: at-least-once delivery (a task is acknowledged after it ran, and given back if its worker
# dies); the run code is idempotent on top (claims and per-call execution rows), see runs/services.py.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600)}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {
    # Reminders at half-time, escalations and expiries (approvals/deadlines.py); safe to run twice at once.
    "expire-overdue-approvals": {"task": "approvals.expire_overdue", "schedule": 30.0},
    "recover-stalled-runs": {
        "task": "runs.recover_stalled_runs", "schedule": float(GOVERNANCE_RUN_RECOVERY_INTERVAL_SECONDS),
    },
    # The insights rollups (insights/rollup.py): the page folds what is new too, a bounded amount.
    "catch-up-insights": {"task": "insights.catch_up", "schedule": 10.0},
}
