"""Who may do what in the dashboard: the one module every door asks.

Views, consumers, the querysets (`Run.objects.visible_to`, `ApprovalRequest.objects.visible_to`), the
nav count and the admin all ask here, so a count and the list it counts always agree. The answers
come from the user's permissions and from ids on the rows (`run.started_by_id`), never from another
app's code, so this module sits at the bottom of the layer order (README, "Layout") and every app may
use it. Permission names are strings: naming `approvals.resolve_approvalrequest` imports nothing.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import Q

RESOLVE_APPROVALS = "approvals.resolve_approvalrequest"
VIEW_AUDIT = "audit.view_auditrecord"


def is_reviewer(user: Any) -> bool:
    """A reviewer may approve or deny requests."""
    return bool(user.is_authenticated and user.has_perm(RESOLVE_APPROVALS))


def sees_every_run(user: Any) -> bool:
    """Reviewers and staff see every run; anyone else sees the runs they started."""
    return bool(user.is_superuser or user.is_staff or user.groups.filter(name=settings.REVIEWERS_GROUP).exists())


def visible_runs(user: Any, *, through: str = "") -> Q:
    """The filter for rows whose run the user may see; `through` is the path to the run (e.g. "run__")."""
    return Q() if sees_every_run(user) else Q(**{f"{through}started_by": user})


def may_cancel_run(user: Any, run: Any) -> bool:
    """Whoever started the run, reviewers and staff. Retrying a failed run is allowed to the same people."""
    return bool(user.is_staff or run.started_by_id == user.pk or user.has_perm(RESOLVE_APPROVALS))


may_retry_run = may_cancel_run


def may_resolve(user: Any, approval: Any) -> bool:
    """Reviewers may resolve; by default not the requests of runs they started themselves."""
    if not is_reviewer(user):
        return False
    return settings.GOVERNANCE_ALLOW_SELF_APPROVAL or approval.run.started_by_id != user.pk


def may_see_audit(user: Any) -> bool:
    return bool(user.is_authenticated and user.has_perm(VIEW_AUDIT))
