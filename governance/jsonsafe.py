"""`json_safe`: any value as plain JSON data (what a tool returned, a runner state), for storing or sending."""

from __future__ import annotations

import json
from typing import Any


def json_safe(value: Any) -> Any:
    """`value` round-tripped through JSON; what JSON cannot hold becomes its `str()`."""
    return json.loads(json.dumps(value, default=str))
