"""Edit, then approve: a reviewer approves a paused call with arguments they changed.

`edit_setup` says what an edit of a request may touch (the tool's JSON schema, and the fields that are
shown redacted, which stay as they are); `approve_edited` checks the edited arguments against the
schema, has the current policy decide the edited call, and approves it; `resolutions` asks
`edited_call_arguments` for the arguments the run's worker then runs, and `note_for_model` for what
the model is told changed.

What is edited are the arguments as reviewers see them (`ApprovalRequest.arguments`, redacted);
the real ones are in the run's saved state (asked for with `call_arguments_wanted`). The edited call
is the real call with the changed top-level fields replaced, so a redacted or scrubbed value the
reviewer never saw is kept as it really is. An edit never widens policy: a blocked edited call is
refused; an allowed one, or one that requires approval, is approved by the edit itself. Only runs the
dashboard's worker drives can be edited: a remote agent waits on the BIGHUB-compatible protocol,
which carries "approved" or "denied" and no changed arguments.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator

from governance import permissions
from governance.assembly import build_guard, redact_call_arguments
from governance.models import ToolRegistration
from governance.redaction import REDACTED, SECRET, parse_paths

from .models import ApprovalRequest
from .services import AlreadyResolved, ApprovalError, NotAllowed, arguments_digest, resolve_approval
from .signals import call_arguments_wanted

REMOTE_REFUSAL = (
    "A remote agent's call cannot be edited: its agent waits on the BIGHUB-compatible protocol, which "
    "carries only approved or denied, not changed arguments. Approve or deny it as it is."
)


class EditRefused(ApprovalError):
    """The edit cannot be made at all (the policy blocks the edited call, a remote agent's call, ...)."""


class EditInvalid(ApprovalError):
    """Edited arguments that do not fit the tool's schema; `errors` maps a field ("" for none) to messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{name or 'arguments'}: {' '.join(msgs)}" for name, msgs in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class Change:
    """One changed argument, as shown (redacted values stay redacted)."""

    field: str
    old: Any
    new: Any

    def __str__(self) -> str:
        return f"{self.field}: {_shown(self.old)} -> {_shown(self.new)}"


@dataclass(frozen=True)
class EditSetup:
    """What an edit of one request may touch."""

    schema: dict[str, Any]
    locked: frozenset[str]  # top-level fields shown redacted (or scrubbed): never edited


@dataclass(frozen=True)
class AppliedEdit:
    """An edit approved: what `resolve_approval` writes on the row and into the audit record."""

    original_digest: str
    digest: str
    original_arguments: dict[str, Any]  # as shown
    edited_arguments: dict[str, Any]  # as shown
    changes: tuple[Change, ...]

    def row_fields(self) -> dict[str, Any]:
        return {"edited_arguments": self.edited_arguments, "original_digest": self.original_digest,
                "arguments_digest": self.digest}

    def audit_values(self) -> dict[str, Any]:
        return {"edited_arguments": self.edited_arguments, "changes": [str(c) for c in self.changes]}


def edit_setup(approval: ApprovalRequest) -> EditSetup:
    """The schema and locked fields of an edit of `approval`; raises EditRefused when it cannot be edited."""
    if approval.run.is_remote:
        raise EditRefused(REMOTE_REFUSAL)
    registration = ToolRegistration.objects.filter(name=approval.tool, enabled=True).first()
    if registration is None:
        raise EditRefused(f"{approval.tool} is no longer registered or is disabled, so its call cannot be edited.")
    schema = registration.schema_override if registration.schema_override is not None else registration.schema
    if not isinstance(schema, dict) or not schema.get("properties"):
        raise EditRefused(f"{approval.tool} has no JSON schema with properties to build an edit form from.")
    redacted = {path.split(".")[0] for path in parse_paths(registration.redact_fields)}
    shown = approval.arguments if isinstance(approval.arguments, dict) else {}
    locked = {name for name in schema["properties"] if name in redacted or _has_marker(shown.get(name))}
    return EditSetup(schema=schema, locked=frozenset(locked))


def approve_edited(*, approval: ApprovalRequest, reviewer, arguments: dict[str, Any], comment: str = "",
                   setup: EditSetup | None = None) -> tuple[ApprovalRequest, AppliedEdit]:
    """Approve `approval`'s call with `arguments` (the edit form's values, top-level fields) instead.

    The edited call is the real call with the fields whose value differs from what was shown replaced;
    it must fit the tool's JSON schema (EditInvalid, per field) and is decided by the current policy
    (the same re-check an approved call gets before it runs): blocked, the edit is refused with the
    policy's reason (EditRefused); allowed or requiring approval, this edit is the approval.
    Side effects: those of `resolve_approval` (the row, approved, now with the edited arguments and a
    digest binding them; its audit record with both argument sets; `approval_resolved`).
    Raises NotAllowed, AlreadyResolved, EditRefused or EditInvalid; nothing changes then.
    """
    if not permissions.may_resolve(reviewer, approval):
        raise NotAllowed("only reviewers may edit and approve, and not for runs they started")
    if not approval.is_pending:
        raise AlreadyResolved(f"Already {approval.outcome}; nothing was changed.")
    setup = setup or edit_setup(approval)
    shown = dict(approval.arguments)
    edited_shown = {**shown, **{k: v for k, v in arguments.items() if k not in setup.locked}}
    changes = changes_between(shown, edited_shown)
    if not changes:
        raise EditInvalid({"": ["Nothing was changed: use Approve to approve the call as it is."]})
    real = _real_arguments(approval)
    edited = apply_changes(real, changes)
    errors = schema_errors(setup.schema, edited)
    errors.update(_unstorable(approval.tool, edited, changes))
    if errors:
        raise EditInvalid(errors)
    decision = _decide(approval.tool, edited)
    if decision.outcome == "blocked":
        raise EditRefused(f"The policy blocks the edited call, so it was not approved: {decision.reason}")
    applied = AppliedEdit(
        original_digest=approval.arguments_digest, digest=arguments_digest(approval.tool, edited),
        original_arguments=shown, edited_arguments=redact_call_arguments(approval.tool, edited),
        changes=tuple(changes),
    )
    approval = resolve_approval(approval=approval, reviewer=reviewer, resolution="approved", comment=comment,
                                edit=applied)
    return approval, applied


def edited_call_arguments(approval: ApprovalRequest, tool: str,
                          call_arguments: dict[str, Any]) -> dict[str, Any] | None:
    """The arguments the worker runs an edited, approved call with, given the waiting call's real ones;
    None unless the waiting call is the one the reviewer edited and the result is what they approved."""
    if arguments_digest(tool, call_arguments) != approval.original_digest:
        return None
    edited = apply_changes(call_arguments, changes_between(approval.arguments, approval.edited_arguments))
    return edited if arguments_digest(tool, edited) == approval.arguments_digest else None


def note_for_model(approval: ApprovalRequest) -> str:
    """What the model is told about an edited call: it ran with changed arguments, and what changed."""
    changes = "; ".join(str(c) for c in changes_between(approval.arguments, approval.edited_arguments))
    return f"a reviewer changed the arguments before approving, and the call ran with them: {changes}"


def changes_between(shown: dict[str, Any], edited: dict[str, Any]) -> list[Change]:
    """The top-level fields whose value differs, in the edited arguments' order."""
    return [Change(name, shown.get(name), value) for name, value in edited.items()
            if name not in shown or not _same(shown[name], value)]


def apply_changes(real: dict[str, Any], changes: list[Change]) -> dict[str, Any]:
    return {**real, **{c.field: c.new for c in changes}}


def schema_errors(schema: dict[str, Any], arguments: dict[str, Any]) -> dict[str, list[str]]:
    """The JSON schema's complaints about `arguments`, by top-level field ("" for the whole)."""
    errors: dict[str, list[str]] = {}
    for error in Draft202012Validator(schema).iter_errors(arguments):
        name = str(error.absolute_path[0]) if error.absolute_path else ""
        where = ".".join(str(p) for p in list(error.absolute_path)[1:])
        errors.setdefault(name, []).append(f"{where}: {error.message}" if where else error.message)
    return errors


def _real_arguments(approval: ApprovalRequest) -> dict[str, Any]:
    for _receiver, answer in call_arguments_wanted.send(sender=ApprovalRequest, approval=approval):
        if answer is not None:
            return answer
    raise EditRefused("The run no longer waits on this call, so it cannot be edited.")


def _decide(tool: str, arguments: dict[str, Any]):
    guard = build_guard(tool_names=[tool])
    if tool not in guard.registry:
        raise EditRefused(f"{tool} is no longer registered or is disabled, so its call cannot be edited.")
    return guard.recheck_tool(tool, arguments)


def _unstorable(tool: str, edited: dict[str, Any], changes: list[Change]) -> dict[str, list[str]]:
    """Changed values that would be shown redacted or scrubbed (a key-shaped secret): the worker could
    not run what the row keeps, so they are refused."""
    stored = redact_call_arguments(tool, edited)
    return {c.field: ["This value looks like a secret and would be stored as [secret]; it cannot be set by an edit."]
            for c in changes if stored.get(c.field) != c.new}


def _has_marker(value: Any) -> bool:
    text = json.dumps(value, default=str)
    return REDACTED in text or SECRET in text


def _same(a: Any, b: Any) -> bool:
    """Equal as JSON values: 250 and 250.0 are the same number, True and 1 are not."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return a == b


def _shown(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # 250.0 reads as 250, however the database gave it back
    return json.dumps(value, ensure_ascii=False, default=str)
