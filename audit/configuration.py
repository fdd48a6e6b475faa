"""Configuration changes as audit records: signal receivers for the models the settings declare.

`connect(labels)` runs at start-up (`AuditConfig.ready`) for `GOVERNANCE_AUDITED_MODELS`, a list
of "app_label.Model" labels resolved through the app registry, so this app imports none of the
apps whose models it watches. For each model it connects:

- `pre_save`/`post_save`: the row as stored before the save against the instance after it
  (a create records every field; a change only the fields that differ; a save that changes nothing
  records nothing);
- `pre_delete`/`post_delete`: every field and many-to-many list of the deleted object;
- `m2m_changed` on each of the model's many-to-many fields (a user's groups and permissions, a
  group's permissions), from either side of the relation: the names before and after.

Each change becomes one record through `recorders.record_configuration_change`, appended while
the change's own transaction is open: the admin saves in one (see `audit.middleware`), deletes
always do, and other writers should change configuration inside `transaction.atomic()` (seed_demo
does) so the change and its record commit or roll back together.

Not recorded: `auto_now`/`auto_now_add` timestamps (every save moves them), `last_login` (a
login is an access, not a configuration change) and the password re-hash Django does at a login
when the hasher got stronger (the same password).
"""

from __future__ import annotations

from contextvars import ContextVar
from datetime import datetime
from typing import Any

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete, pre_save

from .recorders import record_configuration_change

IGNORED_FIELDS = frozenset({"last_login"})

# The request being served, set by `audit.middleware.ConfigurationAuditMiddleware`; unset (None)
# in management commands, shells and workers, whose changes are recorded as "system".
current_request: ContextVar[Any] = ContextVar("audit_current_request", default=None)


def acting_username() -> str:
    """The signed-in user of the request being served, or "" outside a request or when anonymous."""
    request = current_request.get()
    user = getattr(request, "user", None)
    return user.get_username() if user is not None and user.is_authenticated else ""


def connect(labels: list[str]) -> None:
    """Record configuration changes of the models named by `labels` ("app_label.Model")."""
    for label in labels:
        try:
            model = apps.get_model(label)
        except (LookupError, ValueError) as exc:
            raise ImproperlyConfigured(
                f"GOVERNANCE_AUDITED_MODELS names {label!r}, which is not an installed model: {exc}"
            ) from exc
        uid = f"audit-configuration-{label}"
        pre_save.connect(_before_save, sender=model, dispatch_uid=uid, weak=False)
        post_save.connect(_after_save, sender=model, dispatch_uid=uid, weak=False)
        pre_delete.connect(_before_delete, sender=model, dispatch_uid=uid, weak=False)
        post_delete.connect(_after_delete, sender=model, dispatch_uid=uid, weak=False)
        for field in model._meta.many_to_many:
            _M2M_FIELDS[field.remote_field.through] = field
            m2m_changed.connect(_m2m_changed, sender=field.remote_field.through, dispatch_uid=f"{uid}-{field.name}",
                                weak=False)


def _audited_fields(model: type[models.Model]) -> list[models.Field]:
    return [f for f in model._meta.concrete_fields
            if not f.primary_key and f.name not in IGNORED_FIELDS
            and not getattr(f, "auto_now", False) and not getattr(f, "auto_now_add", False)]


def _values(instance: models.Model, fields: list[models.Field]) -> dict[str, Any]:
    return {field.name: _comparable(field.value_from_object(instance)) for field in fields}


def _comparable(value: Any) -> Any:
    # Whole seconds: the admin shows and sends back times without microseconds, so saving a user
    # unchanged would otherwise "change" date_joined.
    return value.replace(microsecond=0) if isinstance(value, datetime) else value


def _record(instance: models.Model, action: str, before: dict, after: dict) -> None:
    meta = instance._meta
    record_configuration_change(
        model_label=meta.label, model_name=str(meta.verbose_name), object_id=instance.pk,
        object_repr=str(instance), action=action, before=before, after=after, by=acting_username(),
    )


def _before_save(sender, instance, update_fields=None, **kwargs) -> None:
    fields = _audited_fields(sender)
    if update_fields is not None:
        fields = [f for f in fields if f.name in update_fields or f.attname in update_fields]
        if _is_password_rehash(instance, update_fields):
            fields = []
    stored = None
    if fields and not instance._state.adding and instance.pk is not None:
        stored = sender._base_manager.using(kwargs.get("using")).filter(pk=instance.pk).first()
    # None when there is nothing to compare: a new row, or a save of ignored fields only (last_login)
    instance._audit_before = None if stored is None else _values(stored, fields)
    instance._audit_fields = fields


def _is_password_rehash(instance: models.Model, update_fields) -> bool:
    """Django re-hashing a password at login with a stronger hasher: the same password, not a change.

    `AbstractBaseUser.check_password` saves exactly the password field and clears `_password`
    (which `set_password` sets to the new raw password) for this case, for the same reason.
    """
    return set(update_fields) == {"password"} and getattr(instance, "_password", "") is None


def _after_save(sender, instance, created, **kwargs) -> None:
    before, fields = instance.__dict__.pop("_audit_before", None), instance.__dict__.pop("_audit_fields", [])
    if created:
        _record(instance, "created", {}, _values(instance, _audited_fields(sender)))
    elif before is not None:
        _record(instance, "changed", before, _values(instance, fields))


def _before_delete(sender, instance, **kwargs) -> None:
    # Now, while the many-to-many rows still exist: the deletion removes them before post_delete.
    values = _values(instance, _audited_fields(sender))
    values.update({field.name: _related_names(instance, field) for field in sender._meta.many_to_many})
    instance._audit_before = values


def _after_delete(sender, instance, **kwargs) -> None:
    _record(instance, "deleted", instance.__dict__.pop("_audit_before", {}), {})


_M2M_FIELDS: dict[type[models.Model], models.ManyToManyField] = {}


def _m2m_changed(sender, instance, action, reverse, pk_set, **kwargs) -> None:
    """Record the names related to each object whose many-to-many field changed, before and after.

    From the field's own side (`user.groups.add(g)`) that object is `instance`; from the other side
    (`group.user_set.add(u)`) it is each object of `pk_set`, or every related one for a clear.
    """
    field = _M2M_FIELDS[sender]
    phase, _, _ = action.partition("_")
    stash = instance.__dict__.setdefault("_audit_m2m", {})
    if phase == "pre":
        if not reverse:
            owners = [instance]
        elif pk_set is None:
            owners = list(field.model._base_manager.filter(**{field.name: instance}))
        else:
            owners = list(field.model._base_manager.filter(pk__in=pk_set))
        stash[sender] = [(owner, _related_names(owner, field)) for owner in owners]
        return
    for owner, before in stash.pop(sender, []):
        _record(owner, "changed", {field.name: before}, {field.name: _related_names(owner, field)})


def _related_names(owner: models.Model, field: models.ManyToManyField) -> list[str]:
    related = field.remote_field.model._base_manager.filter(**{field.related_query_name(): owner}).select_related()
    return sorted(str(item) for item in related)
