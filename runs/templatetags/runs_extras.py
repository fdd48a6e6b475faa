"""Template filters for showing untrusted JSON (tool arguments and outputs) as escaped text."""

from __future__ import annotations

import json
from typing import Any

from django import template

register = template.Library()


@register.filter
def as_json(value: Any) -> str:
    """Pretty JSON; the result is not marked safe, so autoescaping still applies."""
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)
