"""The guarded runner's exceptions, in one place so callers can catch them by kind.

- `AdapterConfigurationError`: the caller configured something the runner cannot use (a bad tool
  name, an unknown decision mode, ...). Raised at configuration time, never mid-run.
- `ToolSchemaError`: a tool's parameters cannot be expressed as (or are not) a strict JSON schema
  the Responses API accepts. A configuration error too.
- `ToolArgumentsError`: the arguments the model sent for a tool call are unusable; `.reason` says
  why in words fit for the model and for a reviewer.
- `ProviderCircuitOpenError`: the provider circuit breaker is open, so the call was not attempted.
- `ProviderResponseError`: the provider answered, but with a failed or incomplete response.
"""

from __future__ import annotations


class AdapterConfigurationError(ValueError):
    """The runner was configured with something it cannot use."""


class ToolSchemaError(AdapterConfigurationError):
    """A tool's parameters cannot be expressed as, or are not, a strict Responses API JSON schema."""


class ToolArgumentsError(ValueError):
    """The model's arguments for a tool call are unusable; `reason` is a readable explanation."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ProviderCircuitOpenError(RuntimeError):
    """The provider circuit breaker is open: the call failed fast without reaching the provider."""


class ProviderResponseError(RuntimeError):
    """The provider answered with a failed or incomplete response."""
