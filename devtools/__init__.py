"""Harnesses that start the product as real processes, for the tests and the benchmarks alike.

`devtools.embedded` runs `python -m config.embedded` as a child; `devtools.production` starts the
production topology (PostgreSQL, Redis, an ASGI server, Celery workers and beat) as separate
processes. Both `tests/` and `bench/` import them, which is why they live here rather than in
either: the benchmarks must not depend on the test suite. Not part of the product: the wheel leaves
this package out (pyproject's `packages.find` include list) and no product module imports it.
"""
