"""Which model names a run may ask for: the offered list (GOVERNANCE_MODELS), or any well-formed
name when GOVERNANCE_ALLOW_ANY_MODEL is true. The start form and `runs.commands.start_run` use the
same check, so a crafted post or a retry of an old run meets the same rule as the form."""

from __future__ import annotations

from django.conf import settings

MAX_MODEL_NAME_CHARS = 100


def offered_models() -> list[str]:
    return list(settings.GOVERNANCE_MODELS)


def any_model_allowed() -> bool:
    return bool(settings.GOVERNANCE_ALLOW_ANY_MODEL)


def offered_models_error() -> str:
    """The error for a name outside the offered list; it names the list, not what was sent."""
    offered = offered_models()
    listed = offered[0] if len(offered) == 1 else f"{', '.join(offered[:-1])} or {offered[-1]}"
    return f"That model is not offered here: choose {listed}."


def model_name_problem(name: str) -> str | None:
    """Why `name` cannot be used for a run, or None if it can."""
    if any_model_allowed():
        if not name or len(name) > MAX_MODEL_NAME_CHARS or any(c.isspace() for c in name):
            return "Give a model name such as gpt-4.1 (no spaces, at most 100 characters)."
        return None
    return None if name in offered_models() else offered_models_error()
