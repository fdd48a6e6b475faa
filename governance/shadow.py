"""Shadow policies: evaluated beside the active set, never changing a decision, recording what they would have.

A `Policy` in shadow mode is left out of the engine that decides. `governance.assembly` builds, for each
enabled shadow policy, a second engine: the active set with that one policy added (a `Shadow`). The
kill switch's `PauseGate`, which every decision passes through, asks each of them after the real
decision (`differences`); each that answers another outcome becomes a `ShadowDifference` naming the
policy, the call and both outcomes. A decision a pause made is not compared (the pause would block the
shadow set too), nor the re-check of an approved call (it would count the call twice). With no shadow
policies nothing here runs: no query is added to a decision.

`outcome_counts(policy)` is what the policy's admin page shows: its differences counted by outcome pair.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.db.models import Count

from governance.decisions import ActionRequest, Decision, DecisionBackendError

from .models import Policy, ShadowDifference

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Shadow:
    """One shadow policy and the engine of the active set with it added."""

    policy_id: int
    name: str
    engine: Any


def differences(shadows: list[Shadow], action: ActionRequest, decision: Decision, *,
                run_id: Any = None) -> list[ShadowDifference]:
    """The (unsaved) differences between `decision` and what each shadow set answers for `action`.

    No side effects. A shadow engine that cannot decide is logged and skipped: a shadow never changes
    or stops a decision.
    """
    found = []
    for shadow in shadows:
        try:
            outcome = shadow.engine.evaluate(action).outcome
        except DecisionBackendError:
            logger.warning("shadow policy %s could not decide %s", shadow.name, action.tool, exc_info=True)
            continue
        if outcome != decision.outcome:
            found.append(ShadowDifference(
                policy_id=shadow.policy_id, tool=action.tool, actor=action.actor, domain=action.domain,
                run_id=run_id, call_id=action.call_id or "", request_id=decision.request_id or "",
                real_outcome=decision.outcome, shadow_outcome=outcome, policy_version=decision.policy_version,
            ))
    return found


def outcome_counts(policy: Policy) -> list[tuple[str, str, int]]:
    """The policy's differences as (real outcome, shadow outcome, how many), the most frequent first."""
    rows = (ShadowDifference.objects.filter(policy=policy).values("real_outcome", "shadow_outcome")
            .annotate(n=Count("pk")).order_by("-n", "real_outcome", "shadow_outcome"))
    return [(row["real_outcome"], row["shadow_outcome"], row["n"]) for row in rows]
