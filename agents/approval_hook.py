"""The one place where a remote agent's `requires_approval` answer becomes something a reviewer decides.

`agents.evaluate.evaluate_calls` calls `on_requires_approval` for every requires_approval decision,
inside the transaction that records the decision, before answering. What it returns shapes the
answer: `request_id` (the id GET /approvals/{id} and POST /approvals/{id}/resolve take) and
`approval_url` (the request's page in the dashboard).

For now it raises nothing and returns None: the answer says requires_approval with the decision's
own request id and no approval_url. The approval side (an ApprovalRequest bound to a digest of what
the call names, in the Run of the agent's session, in the reviewers' live queue) is built on
`approvals` here, and only here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from governance.decisions import Decision

if TYPE_CHECKING:
    from .evaluate import RemoteCall
    from .models import AgentKey


@dataclass(frozen=True)
class ApprovalTicket:
    """What a raised approval request gives the answer."""

    request_id: str
    approval_url: str


def on_requires_approval(*, key: AgentKey, call: RemoteCall, decision: Decision, session: str) -> ApprovalTicket | None:
    """Raise the approval request for a call the dashboard says requires approval; None while none is raised.

    Called inside the transaction that records the decision (an exception rolls both back)."""
    return None
