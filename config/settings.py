"""The one settings module, driven by the environment.

Defaults describe the embedded profile (SQLite, an embedded Redis started by `dev.py start`);
production sets DATABASE_URL-style variables, REDIS_URL, SECRET_KEY and ALLOWED_HOSTS with DEBUG=false
(every variable is listed in docs/operations.md).
"""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from .env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("GOVERNANCE_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)  # SQLite files live here in the embedded profile

DEBUG = env_bool("DEBUG", True)
# The fallback key is only for the embedded profile on a laptop; production must set SECRET_KEY.
_INSECURE_SECRET_KEY = "embedded-profile-insecure-key-change-me"
SECRET_KEY = env_str("SECRET_KEY", _INSECURE_SECRET_KEY)
if not DEBUG and SECRET_KEY in ("", _INSECURE_SECRET_KEY):
    raise ImproperlyConfigured(
        "SECRET_KEY must be set when DEBUG is false: the built-in key is public and only fit for the "
        "embedded profile. Set SECRET_KEY to a long random value (50+ characters), e.g. the output of "
        "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`."
    )
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

if not DEBUG:
    # Production: HTTPS only. Behind a proxy that terminates TLS, set SECURE_PROXY_SSL_HEADER so
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
    "governance",
    "runs",
    "approvals",
    "audit",
]

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
    # Production: PostgreSQL (or anything dj-database-url reads). Connections are not kept across
    # requests by default: daphne serves from threads that come and go.
    import dj_database_url

    DATABASES = {
        "default": dj_database_url.parse(
            env_str("DATABASE_URL"), conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0), conn_health_checks=True
        )
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
# WhiteNoise serves static files from the ASGI app itself: from the app directories while DEBUG
# (the embedded profile needs no collectstatic), from `collectstatic`'s STATIC_ROOT otherwise,
# where file names carry a content hash (cached forever) and gzip/brotli copies sit beside them.
# Without DEBUG a page therefore needs `collectstatic` to have run (the Procfile's release step).
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
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

# Admins may register only callables from these packages (comma-separated module prefixes).
GOVERNANCE_TOOL_MODULE_PREFIXES = env_list("GOVERNANCE_TOOL_MODULE_PREFIXES", ["governance.demo_tools"])
# Members of this group may approve or deny; whoever started a run may not approve its requests
# unless GOVERNANCE_ALLOW_SELF_APPROVAL is true.
# The group the demo data gives the reviewer permissions to; being a reviewer is holding
# approvals.resolve_approvalrequest (governance/permissions.py), whatever the group is called.
REVIEWERS_GROUP = env_str("GOVERNANCE_REVIEWERS_GROUP", "reviewers")
GOVERNANCE_ALLOW_SELF_APPROVAL = env_bool("GOVERNANCE_ALLOW_SELF_APPROVAL", False)
# A pending approval request expires (counts as a denial) after this many seconds; 0 = never.
GOVERNANCE_APPROVAL_TTL_SECONDS = env_int("GOVERNANCE_APPROVAL_TTL_SECONDS", 24 * 3600)
GOVERNANCE_MAX_PROMPT_CHARS = env_int("GOVERNANCE_MAX_PROMPT_CHARS", 20_000)
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

# Celery: at-least-once delivery (a task is acknowledged after it ran, and given back if its worker
# dies); the run code is idempotent on top (claims and per-call execution rows), see runs/services.py.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600)}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {
    "expire-overdue-approvals": {"task": "approvals.expire_overdue", "schedule": 30.0},
    "recover-stalled-runs": {
        "task": "runs.recover_stalled_runs", "schedule": float(GOVERNANCE_RUN_RECOVERY_INTERVAL_SECONDS),
    },
}
