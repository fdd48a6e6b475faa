"""What a reviewer reads on an approval request's page, and where they go after deciding.

- `review_context`: the run's prompt and who started it (a user, or the agent key of a remote session),
  the policies that asked for review, earlier requests for the same tool and target with their
  outcomes, and `live_state`.
- `live_state`: what changes while the page is open (the live channel re-renders it, runs/consumers.py):
  the request's status, the run's other calls with their decisions, and once the run resumed, what
  became of this call (executed, blocked on re-check, failed).
- `next_to_decide`: the next pending request of the reviewer's queue they may decide.

Queries do not grow with the run's calls or the earlier requests: one each for the run's call events,
its last event, the earlier requests, the tool's target argument and the policies.

The calls are read from the run's events through `approval.run.events` (no import of `runs`, which sits
above this app): `execution_event` rows of a dashboard run (keyed by `call_id`, status in the runner's
words) and `remote_decision` / `remote_outcome` rows of a remote session (keyed by `request_id`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Max
from django.db.models.fields.json import KeyTransform

from governance import permissions
from governance.models import Policy, ToolRegistration
from governance.redaction import REDACTED

from .models import ApprovalRequest

EARLIER_SHOWN = 10
# Argument names that say who or what a call acts on, when the tool's registration names none.
TARGET_ARGUMENTS = ("target", "to", "recipient", "recipients", "email", "account", "customer_id", "order_id")
_CALL_EVENTS = ("execution_event", "remote_decision", "remote_outcome")
# What became of an approved call, in words, by the status of its settled event.
_AFTER_RESUME = {
    "executed": "The call ran.",
    "blocked": "Blocked when re-checked before running",
    "tool_error": "The call failed",
    "denied": "The call was not run",
    "expired": "The call was not run",
}


@dataclass
class Call:
    """One call of the run as its latest event says: tool, status (the decision, or what became of it)."""

    call_id: str
    tool: str
    status: str
    reason: str = ""
    approval_id: int | None = None
    output: Any = None


@dataclass
class LiveState:
    """The parts of the page that change while it is open."""

    approval: ApprovalRequest
    run_status: str
    last_seq: int
    calls: list[Call] = field(default_factory=list)  # the run's other calls
    this_call: Call | None = None  # this request's call, once its settled event is written

    @property
    def after_resume(self) -> str:
        """What became of this call once the run resumed ("" before): "The call ran.", "Blocked when
        re-checked before running: ...", "The call failed: ..."; a remote agent's own report."""
        call = self.this_call
        if call is None:
            return ""
        if call.status in _AFTER_RESUME:
            words = _AFTER_RESUME[call.status]
            return words if call.status == "executed" or not call.reason else f"{words}: {call.reason}"
        return f"The agent reported {call.status}" + (f": {call.reason}" if call.reason else ".")

    @property
    def waiting_for_run(self) -> bool:
        """Approved, and the run has not yet said what became of the call."""
        return self.approval.status == "approved" and self.this_call is None and not self.approval.run.is_remote


def live_state(approval: ApprovalRequest) -> LiveState:
    """Read `approval` with `run`; two queries (the run's call events, its last event's number)."""
    run = approval.run
    last_seq = run.events.aggregate(last=Max("seq"))["last"] or 0
    calls: dict[str, Call] = {}
    for type_, payload in run.events.filter(type__in=_CALL_EVENTS).order_by("seq").values_list("type", "payload"):
        key = str(payload.get("call_id") or payload.get("request_id") or "")
        if not key:
            continue
        known = calls.get(key)
        if type_ == "remote_outcome" and known is None:
            continue  # a report of a call this run did not decide
        calls[key] = Call(call_id=key, tool=payload.get("tool") or (known.tool if known else ""),
                          status=str(payload.get("status") or payload.get("outcome") or ""),
                          reason=payload.get("reason") or "",
                          approval_id=payload.get("approval_id") or (known.approval_id if known else None),
                          output=payload.get("output"))
    this_call = calls.pop(approval.call_id, None)
    settled = this_call if this_call and this_call.status not in ("approval_required", "requires_approval") else None
    return LiveState(approval=approval, run_status=run.status, last_seq=last_seq, calls=list(calls.values()),
                     this_call=settled)


def review_context(approval: ApprovalRequest, user) -> dict[str, Any]:
    """The page's context. Read `approval` with `run`, `run__started_by`, `run__cancelled_by`, `resolved_by`."""
    target_name, target = call_target(approval)
    return {
        "approval": approval,
        "run": approval.run,
        "state": live_state(approval),
        "can_resolve": approval.is_pending and permissions.may_resolve(user, approval),
        "policies": _policies(approval.policy_ids),
        "target_name": target_name,
        "target": target,
        "earlier": earlier_requests(approval, user, target_name=target_name, target=target),
    }


def call_target(approval: ApprovalRequest) -> tuple[str, Any]:
    """(argument name, value) of what the call acts on: a remote call's target, else the argument the tool's
    registration names (`target_argument`), else the first of TARGET_ARGUMENTS it has; ("", None) if none."""
    if approval.run.is_remote:
        target = approval.decision.get("target")
        return ("target", target) if target is not None else ("", None)
    arguments = approval.arguments if isinstance(approval.arguments, dict) else {}
    registered = ToolRegistration.objects.filter(name=approval.tool).values_list("target_argument", flat=True).first()
    for name in ((registered,) if registered else ()) + TARGET_ARGUMENTS:
        if arguments.get(name) not in (None, "", [], {}, REDACTED):
            return name, arguments[name]
    return "", None


def earlier_requests(approval: ApprovalRequest, user, *, target_name: str, target: Any) -> list[ApprovalRequest]:
    """Requests of runs the user may see for the same tool and target, raised before this one, newest first
    (at most EARLIER_SHOWN). Without a target: the requests for the very same call (its digest)."""
    requests = ApprovalRequest.objects.visible_to(user).filter(tool=approval.tool, pk__lt=approval.pk)
    if target_name:
        # A transform, not `arguments__<name>`: the name is a tool's argument, and may hold "__".
        where = ("decision", "target") if approval.run.is_remote else ("arguments", target_name)
        requests = requests.alias(same_target=KeyTransform(where[1], where[0])).filter(same_target=target)
    else:
        requests = requests.filter(arguments_digest=approval.arguments_digest)
    earlier = requests.select_related("resolved_by").order_by("-pk")
    return list(earlier[:EARLIER_SHOWN])


def _policies(names: list[str]) -> list[tuple[str, str]]:
    """(name, description) of the policies a decision names; a name no policy has (a threshold, a domain
    default, a remote engine's id) is shown as it is."""
    if not names:
        return []
    described = dict(Policy.objects.filter(name__in=names).values_list("name", "description"))
    return [(name, described.get(name, "")) for name in names]


def next_to_decide(user, *, after: ApprovalRequest | None = None) -> ApprovalRequest | None:
    """The first request of the user's queue (its order) they may decide, other than `after`."""
    queue = ApprovalRequest.objects.queue_for(user).select_related("run")
    if after is not None:
        queue = queue.exclude(pk=after.pk)
    return next((a for a in queue.iterator(chunk_size=50) if permissions.may_resolve(user, a)), None)
