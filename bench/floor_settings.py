"""Settings for bench/remote_decisions.py only: the product's settings, with the floor's URLconf.

The server is the product's in every other respect (middleware, database, cache, logging). The floor
endpoints live in `bench.floor_urls`, so nothing reachable in a deployment serves them: they exist only
when a server is started with DJANGO_SETTINGS_MODULE=bench.floor_settings, and bench/ is not in the wheel.
"""

from config.settings import *  # noqa: F403 -- every product setting, unchanged

ROOT_URLCONF = "bench.floor_urls"

# A variant to measure (docs/benchmarks.md, "Remote decisions"): BENCH_DATABASE_POOL=1 gives PostgreSQL
# Django's own connection pool (Django 5.1+) instead of a connection opened and closed per request. It
# needs psycopg_pool, which the project does not depend on: `.venv/bin/pip install psycopg-pool` first.
if env_bool("BENCH_DATABASE_POOL", False):  # noqa: F405
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {"min_size": 2, "max_size": 20}  # noqa: F405
