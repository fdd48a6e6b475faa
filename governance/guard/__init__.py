"""The guarded runner: every tool call an OpenAI agent proposes is decided before it runs.

`from governance.guard import GuardedOpenAI, AsyncGuardedOpenAI` works without Django or a
database. See `client.py` for the public API, `loop.py` for the governance rules, `reviewer.py` for
`wait_for_reviewer`, the approval callback that waits for a reviewer at the control plane.
"""

from .client import SOURCE_VERSION, AsyncGuardedOpenAI, GuardedOpenAI
from .errors import (
    AdapterConfigurationError,
    ProviderCircuitOpenError,
    ProviderResponseError,
    ToolArgumentsError,
    ToolSchemaError,
)
from .loop import RunFailed
from .reviewer import WaitForReviewer, wait_for_reviewer
from .state import PendingApproval, RunState

__all__ = [
    "SOURCE_VERSION",
    "AdapterConfigurationError",
    "AsyncGuardedOpenAI",
    "GuardedOpenAI",
    "PendingApproval",
    "ProviderCircuitOpenError",
    "ProviderResponseError",
    "RunFailed",
    "RunState",
    "ToolArgumentsError",
    "ToolSchemaError",
    "WaitForReviewer",
    "wait_for_reviewer",
]
