"""Recording what each policy decision was given, so that a draft of the policy set can decide it again.

The kill switch's gate (governance/pauses.py), the one door of every backend decision, keeps one unsaved
`DecisionInput` per first decision of a call (`held`): not the re-check of an approved call, not a
decision a pause made. Its caller saves it with the call's own rows (`save`): the worker in the
transaction of the call's step (runs/worker.py), the agents' API with the call's activity
(agents/evaluate.py); a dry run saves nothing. The arguments are stored as they are shown: the caller
passes them already redacted (`governance.assembly.shown_call`, with the value and target as their
argument is shown, by the tool's name for it), so no query is added here. The real value and target are
stored only when they are shown as they are; otherwise no value, and the target as it is shown.

A worker that dies after recording a call and decides it again records nothing more: a row is unique
per (run, call id) when the call has an id, and a second insert is ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from governance.decisions import ActionRequest, Decision

from .models import DecisionInput


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
    """`row` with the arguments as `displayed` (`governance.assembly.shown_call`: {"arguments", "value",
    "target"}, the value and target as their argument, by the tool's name for it, is shown). The real value
    and target are kept only when they are displayed as they are: otherwise no value, and the target as
    displayed; `redacted` is set when anything displayed differs from the real call."""
    arguments = displayed.get("arguments")
    arguments = arguments if isinstance(arguments, dict) else {}
    row.run_id = run_id
    row.arguments = arguments
    value_hidden = row.value is not None and not _same_number(displayed.get("value"), row.value)
    if value_hidden:
        row.value = None
    target_hidden = row.target is not None and displayed.get("target") != row.target
    if target_hidden:
        row.target = displayed.get("target")
    row.redacted = arguments != real or value_hidden or target_hidden
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
