"""Who may decide which approval requests: the reviewer groups of a tool or of a domain, as a query filter.

A tool's reviewer groups (governance `ToolRegistration.reviewer_groups`) decide its requests; a tool that
names none leaves them to its domain's groups (`DomainDefault.reviewer_groups`); when neither names any,
every reviewer may (the rules of governance.permissions, which apply on top in every case: holding the
permission, not on a run one started). A request's domain is its tool's, or, for a remote agent's call,
the domain the call named.

The rule is one filter (`allowing`) over the request's `tool` and `decision` columns, so the queue, the nav
count, the check of one request (approvals/quorum.py) and the people emailed about it (`who_may_decide`) ask
the same question; the queue and the nav count pay no extra query for it.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Case, CharField, Exists, OuterRef, Q, QuerySet, Subquery, When
from django.db.models.fields.json import KT

from governance import permissions
from governance.models import DomainDefault, ToolRegistration

_ToolGroups = ToolRegistration.reviewer_groups.through
_DomainGroups = DomainDefault.reviewer_groups.through
DOMAIN = "_request_domain"  # the alias `with_domain` adds


def with_domain(requests: QuerySet) -> QuerySet:
    """`requests` with the alias `allowing` reads: the domain the call was decided in."""
    return requests.alias(**{DOMAIN: request_domain()})


def request_domain() -> Case:
    """An expression for a request's domain: the one a remote agent's call named, else its tool's."""
    registered = ToolRegistration.objects.filter(name=OuterRef("tool")).values("domain")[:1]
    return Case(When(decision__source="api", then=KT("decision__domain")), default=Subquery(registered),
                output_field=CharField())


def allowing(user: Any, *, user_pk: Any = None) -> Q:
    """The requests the groups of their tool (else their domain) let `user` decide; use on `with_domain(...)`.
    `user_pk` instead of a user: an expression naming them (an OuterRef, for a query over users)."""
    user_pk = user.pk if user_pk is None else user_pk
    tool_groups = _ToolGroups.objects.filter(toolregistration__name=OuterRef("tool"))
    domain_groups = _DomainGroups.objects.filter(domaindefault__domain=OuterRef(DOMAIN))
    # A request that escalated at its deadline (approvals/deadlines.py): its escalation group decides it too.
    memberships = get_user_model().groups.through.objects
    escalated_to_them = memberships.filter(group_id=OuterRef("escalated_to_id"), user_id=user_pk)
    return Q(Exists(tool_groups.filter(group__user=user_pk))) | Q(Exists(escalated_to_them)) | (
        ~Q(Exists(tool_groups)) & (~Q(Exists(domain_groups)) | Q(Exists(domain_groups.filter(group__user=user_pk))))
    )


def who_may_decide(approval: Any) -> list[Any]:
    """The people who may decide this request now (whom notifications tell about it): those
    governance.permissions lets resolve it, less those its reviewer groups leave out. Two queries."""
    holders = permissions.who_may_resolve(approval)
    this_request = with_domain(type(approval)._default_manager.filter(pk=approval.pk))
    allowed = set(get_user_model().objects.filter(pk__in=[user.pk for user in holders]).filter(
        Exists(this_request.filter(allowing(None, user_pk=OuterRef(OuterRef("pk")))))
    ).values_list("pk", flat=True))
    return [user for user in holders if user.pk in allowed]
