"""Versions of the policy set: every change to policies, tools' decision settings or domain defaults
becomes an immutable, numbered `PolicySetVersion`, and rollback restores an old one as a new version.

The policy set is everything that changes a decision: each `Policy` (`POLICY_FIELDS`), each
`ToolRegistration`'s decision settings (`TOOL_FIELDS`: add a field there and it is versioned, diffed and
rolled back) and each `DomainDefault`. A version keeps the whole set as it left it (`snapshot()`, a few
small tables), its author, a comment, and the diff from the previous version: a unified diff for Cedar
text, "field: old → new" for the rest, one `PolicySetChange` per object changed.

How a change becomes a version. Receivers connected by `connect()` (at start-up) see every save and
delete of the three models. Inside `changing(by=..., comment=...)` (what the admin and `rollback` use)
they only note the change, and one version is written when the block ends, in its transaction, for
everything the block changed. Outside such a block (seed_demo, a shell) each save makes its own version,
commented `UNCOMMENTED`. A save that leaves the set as it was (a tool's description) makes none.

The number of the latest version is what decisions record (`latest_number`, read by
`governance.assembly` with the policies the engine is built from).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models.signals import post_delete, post_save

from .models import DomainDefault, Policy, PolicySetChange, PolicySetVersion, ToolRegistration

# What is versioned of each object, by name. Fields another module adds to ToolRegistration that
# change decisions (approvals needed, reviewer group...) belong in TOOL_FIELDS; an old snapshot
# without them leaves them as they are on rollback.
POLICY_FIELDS = ("cedar", "enabled", "mode")
TOOL_FIELDS = ("callable_path", "enabled", "domain", "actor", "decision_mode", "value_argument", "target_argument",
               "approve_above", "block_above", "redact_fields")
DOMAIN_DEFAULT_FIELDS = ("outcome", "observe_only")
TEXT_FIELDS = frozenset({"cedar"})  # diffed line by line

UNCOMMENTED = ("system: saved without a comment, outside the admin (a management command such as seed_demo, "
               "a shell or a worker)")
SYSTEM = "system"

# snapshot key -> (change kind, model, the field naming the object, versioned fields)
_KINDS: dict[str, tuple[str, type[models.Model], str, tuple[str, ...]]] = {
    "policies": (PolicySetChange.Kind.POLICY, Policy, "name", POLICY_FIELDS),
    "tools": (PolicySetChange.Kind.TOOL, ToolRegistration, "name", TOOL_FIELDS),
    "domain_defaults": (PolicySetChange.Kind.DOMAIN_DEFAULT, DomainDefault, "domain", DOMAIN_DEFAULT_FIELDS),
}


class VersionError(ValueError):
    """A change the versions refuse: no comment, or a rollback that cannot be made (the message says why)."""


@dataclass
class _Change:
    by: Any
    comment: str
    rollback_of: PolicySetVersion | None = None
    touched: bool = False
    version: PolicySetVersion | None = field(default=None)


_current: ContextVar[_Change | None] = ContextVar("policy_set_change", default=None)


@contextmanager
def changing(*, by: Any, comment: str, rollback_of: PolicySetVersion | None = None) -> Iterator[_Change]:
    """Make the block's changes to the policy set one version, by `by` (a user, or None) with `comment`.

    Side effects, when the block ends without an exception and changed the set: one `PolicySetVersion`
    and its `PolicySetChange` rows, in the block's transaction (`.version` on the yielded object). Raises
    `VersionError` for an empty comment, before anything is changed. A block inside another joins it.
    """
    outer = _current.get()
    if outer is not None:
        yield outer
        return
    comment = (comment or "").strip()
    if not comment:
        raise VersionError("Say why the policy set changes: a comment is required for every change.")
    change = _Change(by=by, comment=comment, rollback_of=rollback_of)
    token = _current.set(change)
    try:
        with transaction.atomic():
            yield change
            if change.touched:
                change.version = record(by=by, comment=comment, rollback_of=rollback_of)
    finally:
        _current.reset(token)


def record(*, by: Any = None, comment: str = UNCOMMENTED, rollback_of: PolicySetVersion | None = None
           ) -> PolicySetVersion | None:
    """Write the version the policy set is in now, or None when it is the latest version's content.

    Side effects: one `PolicySetVersion` (the next number, under a lock on the latest one so that two
    writers never take the same number) and one `PolicySetChange` per object that differs.
    """
    with transaction.atomic():
        # Locked: the next number is taken from it, and the diff is against exactly it.
        previous = PolicySetVersion.objects.select_for_update().order_by("-number").first()
        now = snapshot()
        before = previous.snapshot if previous is not None else {}
        changes = diff_snapshots(before, now)
        if not changes:
            return None
        number = previous.number + 1 if previous is not None else 1
        author = by if getattr(by, "is_authenticated", False) else None
        version = PolicySetVersion.objects.create(
            number=number, author=author, author_name=author.get_username() if author else SYSTEM,
            comment=comment, snapshot=now, rollback_of=rollback_of,
            diff="\n\n".join(text for _, _, _, text in changes),
        )
        PolicySetChange.objects.bulk_create(
            PolicySetChange(version=version, kind=kind, name=name, action=action, diff=text)
            for kind, name, action, text in changes
        )
        return version


def latest_number() -> int | None:
    """The number of the policy set's latest version (None before the first one)."""
    return PolicySetVersion.objects.order_by("-number").values_list("number", flat=True).first()


def snapshot(models_by_key: dict[str, type[models.Model]] | None = None) -> dict[str, dict[str, dict[str, Any]]]:
    """The whole policy set now, as JSON: {"policies": {name: {field: value}}, "tools": ..., "domain_defaults": ...}.

    `models_by_key` replaces the models (a migration's historical ones); fields a model lacks are left out.
    """
    result: dict[str, dict[str, dict[str, Any]]] = {}
    for key, (_, model, name_field, fields) in _KINDS.items():
        model = (models_by_key or {}).get(key, model)
        present = [f for f in fields if any(f == mf.name for mf in model._meta.concrete_fields)]
        result[key] = {row[name_field]: {f: _jsonable(row[f]) for f in present}
                       for row in model._base_manager.order_by(name_field).values(name_field, *present)}
    return result


def draft(*, saving: models.Model | None = None, deleting: models.Model | None = None) -> dict:
    """The snapshot the policy set would have after saving `saving` (a policy, tool or domain default as
    edited, not yet saved; a rename drops its old name) or deleting `deleting`. Changes nothing."""
    result = snapshot()
    obj = saving if saving is not None else deleting
    for key, (_, model, name_field, fields) in _KINDS.items():
        if not isinstance(obj, model):
            continue
        objects = dict(result[key])
        if obj.pk is not None:
            objects.pop(model._base_manager.filter(pk=obj.pk).values_list(name_field, flat=True).first(), None)
        if saving is not None:
            objects[getattr(obj, name_field)] = {f: _jsonable(getattr(obj, f)) for f in fields}
        result[key] = dict(sorted(objects.items()))
    return result


def _jsonable(value: Any) -> Any:
    return value if value is None or isinstance(value, bool | int | str) else str(value)


def diff_snapshots(before: dict, after: dict) -> list[tuple[str, str, str, str]]:
    """(kind, name, action, readable diff) for every object that differs between two snapshots."""
    changes = []
    for key, (kind, model, _, fields) in _KINDS.items():
        old_objects, new_objects = before.get(key, {}), after.get(key, {})
        since = _added_defaults(model, fields)
        for name in sorted(set(old_objects) | set(new_objects)):
            old, new = old_objects.get(name), new_objects.get(name)
            if old is not None and new is not None:
                # A field versioned since `old` was taken (observe_only) was its default then: no change.
                old = {**{f: v for f, v in since.items() if f in new}, **old}
            if old == new:
                continue
            action = "created" if old is None else "deleted" if new is None else "changed"
            lines = [f"{PolicySetChange.Kind(kind).label.lower()} “{name}” {action}"]
            lines += _field_lines(old or {}, new or {})
            changes.append((kind, name, action, "\n".join(lines)))
    return changes


def _added_defaults(model: type[models.Model], fields: tuple[str, ...]) -> dict[str, Any]:
    """The defaults of the versioned fields that have one (what an older snapshot without them meant)."""
    result = {}
    for name in fields:
        field = model._meta.get_field(name)
        if field.has_default() and not callable(field.default):
            result[name] = _jsonable(field.default)
    return result


def _field_lines(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    lines = []
    for name in [*old, *(f for f in new if f not in old)]:
        before, after = old.get(name), new.get(name)
        if before == after:
            continue
        if name in TEXT_FIELDS:
            lines.append(f"  {name}:")
            lines += [f"    {line}" for line in difflib.unified_diff(
                (before or "").splitlines(), (after or "").splitlines(), "before", "after", lineterm="")]
        else:
            lines.append(f"  {name}: {_shown(before)} → {_shown(after)}")
    return lines


def _shown(value: Any) -> str:
    return "(none)" if value is None or value == "" else str(value)


ROLLBACK_PERMISSIONS = ("governance.change_policy", "governance.change_toolregistration",
                        "governance.change_domaindefault", "governance.add_policy", "governance.delete_policy",
                        "governance.add_domaindefault", "governance.delete_domaindefault")


def may_roll_back(user: Any) -> bool:
    """Rollback may create, change and delete policies and domain defaults and change tools."""
    return user.has_perms(ROLLBACK_PERMISSIONS)


def rollback(*, to: int, by: Any, comment: str) -> PolicySetVersion:
    """Restore the policy set as version `to` left it, as a new version commented "rollback to vN: ...".

    Policies and domain defaults become exactly the old ones (created, changed, deleted); tools get their
    old decision settings back (a deleted tool is registered again) and a tool registered since is
    disabled, not deleted. Raises `VersionError` for an unknown version, an empty comment, a restored
    object that no longer validates (nothing is changed then) or a set already as that version left it.
    """
    target = PolicySetVersion.objects.filter(number=to).first()
    if target is None:
        raise VersionError(f"There is no policy set version v{to}.")
    if not (comment or "").strip():
        raise VersionError("Say why you roll back: a comment is required.")
    with changing(by=by, comment=f"rollback to v{to}: {comment.strip()}", rollback_of=target) as change:
        _restore(target.snapshot)
    if change.version is None:
        raise VersionError(f"The policy set is already as v{to} left it: nothing to roll back.")
    return change.version


def preview(version: PolicySetVersion) -> str:
    """The diff a rollback to `version` would make now ("" when it would change nothing)."""
    now = snapshot()
    return "\n\n".join(text for *_, text in diff_snapshots(now, _as_restored(now, version.snapshot)))


def restored(version: PolicySetVersion) -> dict:
    """The snapshot the policy set would have after a rollback to `version` now. Changes nothing."""
    return _as_restored(snapshot(), version.snapshot)


def _as_restored(now: dict, old: dict) -> dict:
    """`old` as `_restore` would leave the set: tools registered since disabled, tool fields the old
    snapshot lacks as they are now."""
    restored = {key: dict(old.get(key, {})) for key in _KINDS}
    tools_now = now.get("tools", {})
    for name, values in tools_now.items():
        restored["tools"][name] = ({**values, **restored["tools"][name]} if name in restored["tools"]
                                   else {**values, "enabled": False})
    return restored


def _restore(old: dict[str, dict[str, dict[str, Any]]]) -> None:
    # Tools first: restored policies are validated against the tools registered.
    for key in ("tools", "domain_defaults", "policies"):
        _, model, name_field, fields = _KINDS[key]
        wanted = old.get(key, {})
        existing = {getattr(obj, name_field): obj for obj in model.objects.all()}
        for name, values in wanted.items():
            obj = existing.get(name) or model(**{name_field: name})
            for f, value in values.items():
                if f in fields:
                    setattr(obj, f, value)
            try:
                obj.full_clean()
            except ValidationError as exc:
                raise VersionError(f"{model._meta.verbose_name} “{name}” as it was cannot be restored: "
                                   f"{'; '.join(exc.messages)}") from exc
            obj.save()
        for name, obj in existing.items():
            if name in wanted:
                continue
            if model is ToolRegistration:
                if obj.enabled:
                    obj.enabled = False
                    obj.save(update_fields=["enabled", "updated_at"])
            else:
                obj.delete()


def _changed(sender, instance, raw: bool = False, **kwargs) -> None:
    if raw:  # loaddata: fixtures are not changes anyone made
        return
    change = _current.get()
    if change is not None:
        change.touched = True
    else:
        record()


def connect() -> None:
    """Version every save and delete of the policy set's models (called once, from `GovernanceConfig.ready`)."""
    for _, model, _, _ in _KINDS.values():
        post_save.connect(_changed, sender=model, dispatch_uid=f"policy-set-version-save-{model.__name__}")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"policy-set-version-delete-{model.__name__}")
