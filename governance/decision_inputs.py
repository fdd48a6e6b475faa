"""Recording what each policy decision was given, so that a draft of the policy set can decide it again.

The kill switch's gate (governance/pauses.py), the one door of every backend decision, keeps one unsaved
`DecisionInput` per first decision of a call (`held`): not the re-check of an approved call, not a
decision a pause made. Its caller saves it with the call's own rows (`save`): the worker in the
transaction of the call's step (runs/worker.py), the agents' API with the call's activity
(agents/evaluate.py); a dry run saves nothing. The arguments are stored as they are shown: the caller
passes them already redacted (`governance.assembly.redact_call_arguments`, `agents.activity.shown_call`),
so no query is added here. A value or target whose argument is shown redacted is not stored either.

A worker that dies after recording a call and decides it again records nothing more: a row is unique
per (run, call id) when the call has an id, and a second insert is ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from governance.decisions import ActionRequest, Decision
from governance.redaction import REDACTED, SECRET

from .models import DecisionInput

_MARKERS = (REDACTED, SECRET)


def held(action: ActionRequest, decision: Decision, *, source: str) -> tuple[DecisionInput, dict[str, Any]]:
    """The unsaved row for `decision` (the policies' own outcome, before an observe-only domain lets the
    call through), and the real arguments it was given (kept only in memory, to tell what was redacted)."""
    row = DecisionInput(
        tool=action.tool, actor=action.actor, domain=action.domain, value=action.value, target=action.target,
        outcome=decision.outcome, policy_version=decision.policy_version, call_id=action.call_id or "",
        request_id=decision.request_id or "", source=source,
    )
    return row, action.arguments if isinstance(action.arguments, dict) else {}


def shown(row: DecisionInput, real: dict[str, Any], displayed: Mapping[str, Any], *, run_id: Any) -> DecisionInput:
    """`row` with the arguments as `displayed` ({"arguments": ..., and, when the caller shows them, "value"
    and "target"}), `redacted` set when they differ from the real ones, and the value and target left out
    when their argument (or their own display) is a redaction marker."""
    arguments = displayed.get("arguments")
    arguments = arguments if isinstance(arguments, dict) else {}
    row.run_id = run_id
    row.arguments = arguments
    hidden = [real[k] for k, v in arguments.items() if v in _MARKERS and k in real and real[k] != v]
    if row.value is not None and (displayed.get("value") in _MARKERS
                                  or any(_same_number(h, row.value) for h in hidden)):
        row.value = None
    if row.target is not None and (displayed.get("target") in _MARKERS or any(str(h) == row.target for h in hidden)):
        row.target = None
    row.redacted = arguments != real or displayed.get("value") in _MARKERS or displayed.get("target") in _MARKERS
    return row


def save(rows: Iterable[DecisionInput]) -> None:
    """Insert the rows; one already recorded for the same (run, call id) is left as it is."""
    rows = list(rows)
    if rows:
        DecisionInput.objects.bulk_create(rows, ignore_conflicts=True)


def _same_number(a: Any, b: float) -> bool:
    if isinstance(a, bool):
        return False
    try:
        return float(a) == b
    except (TypeError, ValueError):
        return False
