"""Who may do what in the dashboard: the one module every door asks.

Views, consumers, the querysets (`Run.objects.visible_to`, `ApprovalRequest.objects.visible_to`), the
nav count and the admin all ask here, so a count and the list it counts always agree. The answers
come from the user's permissions and from ids on the rows (`run.started_by_id`), never from another
app's code, so this module sits at the bottom of the layer order (README, "Layout") and every app may
use it. Permission names are strings: naming `approvals.resolve_approvalrequest` imports nothing.

- A reviewer holds `approvals.resolve_approvalrequest` (the demo's reviewers group grants it;
  superusers hold every permission). Nothing else makes a reviewer: not a group's name, not is_staff.
- Every run is seen by reviewers and by holders of `runs.view_run`; anyone else sees the runs they
  started, and the approval requests of those runs. A remote agent's session (a run with origin
  remote) counts as started by whoever answers for its API key: an approver key's user, else the
  key's creator, else nobody (then only reviewers and holders of `runs.view_run` see it). So the
  person who set an agent going never approves its calls, in the browser or through an approver key.
- A run is cancelled, or retried once failed, by whoever started it and by reviewers.
- A request that escalated at its deadline (approvals/deadlines.py) is also seen and resolved by the
  members of its escalation group.
- A request is resolved by reviewers, not on runs they started (unless GOVERNANCE_ALLOW_SELF_APPROVAL);
  `who_may_resolve` lists those people for one request (whom notifications tell about it).
- The audit history is read by holders of `audit.view_auditrecord`.
- The kill switch (pausing and resuming a tool, an actor, a domain or everything, governance/pauses.py)
  is worked by holders of `governance.pause_decisions` (the demo's reviewers group grants it).
- A replay of a draft of the policy set (governance/replay_jobs.py) is started and seen by whoever may add
  or change a policy, a tool registration or a domain default (the admin forms it starts from) and may
  read the audit history: a replay shows every actor's calls, with their reasons. It is cancelled by
  whoever started it and by superusers.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q

RESOLVE_APPROVALS = "approvals.resolve_approvalrequest"
VIEW_EVERY_RUN = "runs.view_run"
VIEW_AUDIT = "audit.view_auditrecord"
# The backend that grants permissions (the first one configured, django-axes's, only refuses logins).
_PERMISSIONS_BACKEND = "django.contrib.auth.backends.ModelBackend"
PAUSE_DECISIONS = "governance.pause_decisions"
REPLAY_PERMISSIONS = tuple(f"governance.{action}_{model}" for model in ("policy", "toolregistration", "domaindefault")
                           for action in ("add", "change"))


def is_reviewer(user: Any) -> bool:
    return bool(user.is_authenticated and user.has_perm(RESOLVE_APPROVALS))


def sees_every_run(user: Any) -> bool:
    return is_reviewer(user) or bool(user.is_authenticated and user.has_perm(VIEW_EVERY_RUN))


def visible_runs(user: Any, *, through: str = "") -> Q:
    """The filter for rows whose run the user may see; `through` is the path to the run (e.g. "run__")."""
    return Q() if sees_every_run(user) else Q(**{f"{through}started_by": user.pk})


def may_cancel_run(user: Any, run: Any) -> bool:
    return bool(user.is_authenticated and (run.started_by_id == user.pk or is_reviewer(user)))


def may_retry_run(user: Any, run: Any) -> bool:
    """Who may retry the run once it failed (the run's status is the command's to check)."""
    return may_cancel_run(user, run)


def may_resolve(user: Any, approval: Any) -> bool:
    if not (is_reviewer(user) or in_escalation_group(user, approval)):
        return False
    return settings.GOVERNANCE_ALLOW_SELF_APPROVAL or approval.run.started_by_id != user.pk


def in_escalation_group(user: Any, approval: Any) -> bool:
    """Whether the user is in the group the request escalated to (`escalated_to_id`, approvals/deadlines.py):
    its members may see and decide it, reviewers or not."""
    group_id = getattr(approval, "escalated_to_id", None)
    return bool(group_id and user.is_authenticated and user.groups.filter(pk=group_id).exists())


def visible_approvals(user: Any) -> Q:
    """The filter for the approval requests the user may see: those of the runs they may see, and those
    escalated to one of their groups."""
    if sees_every_run(user):
        return Q()
    # A subquery, not a join through the group's members, so a row is never listed once per member.
    return visible_runs(user, through="run__") | Q(escalated_to__in=user.groups.values("pk"))


def who_may_resolve(approval: Any) -> list[Any]:
    """The active users who may resolve this request now, by username: every holder of the permission
    (superusers included) and every member of the group it escalated to, for whom `may_resolve` says yes,
    so the list and the answer never differ."""
    users = get_user_model().objects
    holders = users.with_perm(RESOLVE_APPROVALS, backend=_PERMISSIONS_BACKEND)
    group_id = getattr(approval, "escalated_to_id", None)
    if group_id:
        holders = users.filter(Q(pk__in=holders.values("pk")) | Q(groups=group_id)).distinct()
    return [user for user in holders.order_by("username") if may_resolve(user, approval)]


def may_see_audit(user: Any) -> bool:
    return bool(user.is_authenticated and user.has_perm(VIEW_AUDIT))


def may_pause(user: Any) -> bool:
    """Who may pause and resume (the kill switch)."""
    return bool(user.is_authenticated and user.has_perm(PAUSE_DECISIONS))


def may_replay(user: Any) -> bool:
    """Who may start replays of drafts of the policy set and see them (every actor's calls: so only those
    who may also read the audit history)."""
    return bool(may_see_audit(user) and any(user.has_perm(p) for p in REPLAY_PERMISSIONS))


def may_cancel_replay(user: Any, job: Any) -> bool:
    """Who may cancel the replay `job`: whoever started it, and superusers (among those who may replay)."""
    return may_replay(user) and (job.created_by_id == user.pk or user.is_superuser)
