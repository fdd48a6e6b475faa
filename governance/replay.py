"""Replay: deciding the recorded calls of the last days again with a policy set, and what would change.

`replay(policy_set, days=30)` reads every `DecisionInput` (governance/decision_inputs.py) of the window
in chunks, in the order they were recorded, decides each with an engine built once from `policy_set`
(a snapshot, governance/versions.py: `snapshot()` is the active set, `draft(saving=obj)` the set as it
would be after a save), exactly as `governance.policy_examples` decides an example: a tool the set does
not have, or has disabled, is blocked; the call is otherwise the one the original decision saw (its
tool, actor, domain, value, target and arguments; the tool's decision mode from the set). Each outcome
is compared with the recorded one (the policies' own outcome, also in an observe-only domain). Calls
recorded with redacted arguments are decided with the markers, not the real values, and counted.

The result (`ReplayResult`, JSON-safe through `to_dict`/`from_dict`) counts the calls that change, by
outcome pair and by (tool, actor), keeps a few examples, how many calls each policy matched
(governance/findings.py reads them) and the policy examples the set breaks. Nothing is written.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from governance.decisions import ActionRequest

from . import policy_examples
from .models import DecisionInput

CHUNK = 2000
MAX_GROUPS = 50
MAX_EXAMPLES = 20
_COLUMNS = ("id", "occurred_at", "tool", "actor", "domain", "value", "target", "arguments", "redacted", "outcome",
            "run_id", "call_id")


@dataclass(frozen=True)
class ReplayResult:
    """What a policy set decides otherwise among the recorded calls of a window."""

    since: datetime
    until: datetime
    total: int  # decisions replayed
    changed: int  # of them, how many the draft decides otherwise
    redacted: int  # replayed with redacted arguments
    transitions: list[tuple[str, str, int]]  # (recorded outcome, draft outcome, count) of changes, most first
    groups: list[dict]  # {"tool","actor","from","to","count"} of changes, most first, at most 50
    examples: list[dict]  # {"run_id","call_id","tool","actor","from","to","occurred_at","reason"}, at most 20
    policy_matches: dict[str, int]  # policy name -> replayed decisions it matched under the draft
    tools_seen: dict[str, int]  # tool -> decisions replayed
    example_failures: list[str]  # str(Failure) of policy examples the draft breaks
    cancelled: bool
    # Beyond the contract, for governance/findings.py: policy name -> tool -> decisions of it matched.
    policy_tool_matches: dict[str, dict[str, int]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["since"], data["until"] = self.since.isoformat(), self.until.isoformat()
        data["transitions"] = [list(t) for t in self.transitions]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> ReplayResult:
        return cls(
            since=datetime.fromisoformat(data["since"]), until=datetime.fromisoformat(data["until"]),
            total=data["total"], changed=data["changed"], redacted=data["redacted"],
            transitions=[(a, b, n) for a, b, n in data["transitions"]], groups=list(data["groups"]),
            examples=list(data["examples"]), policy_matches=dict(data["policy_matches"]),
            tools_seen=dict(data["tools_seen"]), example_failures=list(data["example_failures"]),
            cancelled=data["cancelled"], policy_tool_matches=dict(data.get("policy_tool_matches") or {}),
        )


def replay(policy_set: dict, *, days: int = 30,
           progress: Callable[[int, int], bool] | None = None) -> ReplayResult:
    """Decide every DecisionInput of the last `days` days with `policy_set` (a snapshot:
    governance.versions.snapshot() is the active set, versions.draft(saving=obj) a draft) and
    compare with the recorded outcome. `progress(done, total)` is called every chunk; returning
    False cancels (the result then has cancelled=True and counts what was done).

    Raises `governance.policy.PolicyError` when an enabled policy of the set does not load. No side effects.
    """
    until = timezone.now()
    since = until - timedelta(days=days)
    window = DecisionInput.objects.filter(occurred_at__gte=since, occurred_at__lte=until)
    total_in_window = window.count()
    engine = policy_examples.engine_for(policy_set)
    tally = _Tally(policy_set, engine.policy_names)
    cancelled = False
    last_id = 0
    while True:
        rows = list(window.filter(id__gt=last_id).order_by("id").values_list(*_COLUMNS)[:CHUNK])
        if not rows:
            break
        for row in rows:
            tally.add(engine, row)
        last_id = rows[-1][0]
        if progress is not None and progress(tally.total, total_in_window) is False:
            cancelled = True
            break
    return tally.result(since=since, until=until, cancelled=cancelled,
                        failures=[str(f) for f in policy_examples.failures(policy_set=policy_set)])


class _Tally:
    """The counts of one replay, added to call by call."""

    def __init__(self, policy_set: dict, policy_names: dict[str, str]) -> None:
        self.policy_set = policy_set
        self.tools = policy_set.get("tools", {})
        self.policy_names = policy_names
        self.total = 0
        self.redacted = 0
        self.tools_seen: Counter[str] = Counter()
        self.changes: Counter[tuple[str, str, str, str]] = Counter()  # (tool, actor, from, to)
        self.matched: Counter[tuple[str, tuple[str, ...]]] = Counter()  # (tool, matched ids)
        self.examples: list[dict] = []

    def add(self, engine: Any, row: tuple) -> None:
        _id, occurred_at, tool, actor, domain, value, target, arguments, redacted, outcome, run_id, call_id = row
        self.total += 1
        self.tools_seen[tool] += 1
        if redacted:
            self.redacted += 1
        decision = policy_examples.refusal(tool, self.policy_set)
        if decision is None:
            decision = policy_examples.evaluate(engine, ActionRequest(
                tool=tool, action=tool, arguments=arguments if isinstance(arguments, dict) else {}, actor=actor,
                domain=domain, value=value, target=target,
                decision_mode=self.tools[tool].get("decision_mode") or "submit",
            ))
            matched = decision.raw.get("matched")
            if matched:
                self.matched[(tool, tuple(matched))] += 1
        if decision.outcome == outcome:
            return
        self.changes[(tool, actor, outcome, decision.outcome)] += 1
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append({
                "run_id": None if run_id is None else str(run_id), "call_id": call_id, "tool": tool, "actor": actor,
                "from": outcome, "to": decision.outcome, "occurred_at": occurred_at.isoformat(),
                "reason": decision.reason,
            })

    def result(self, *, since: datetime, until: datetime, cancelled: bool, failures: list[str]) -> ReplayResult:
        transitions: Counter[tuple[str, str]] = Counter()
        for (_tool, _actor, before, after), n in self.changes.items():
            transitions[(before, after)] += n
        per_tool: dict[str, Counter[str]] = {name: Counter() for name in self.policy_names.values()}
        for (tool, ids), n in self.matched.items():
            for name in {self.policy_names[i] for i in ids if i in self.policy_names}:
                per_tool.setdefault(name, Counter())[tool] += n
        return ReplayResult(
            since=since, until=until, total=self.total, changed=sum(self.changes.values()), redacted=self.redacted,
            transitions=[(a, b, n) for (a, b), n in sorted(transitions.items(), key=lambda kv: (-kv[1], kv[0]))],
            groups=[{"tool": tool, "actor": actor, "from": a, "to": b, "count": n}
                    for (tool, actor, a, b), n in sorted(self.changes.items(), key=lambda kv: (-kv[1], kv[0]))
                    ][:MAX_GROUPS],
            examples=self.examples,
            policy_matches={name: sum(tools.values()) for name, tools in sorted(per_tool.items())},
            tools_seen=dict(sorted(self.tools_seen.items())),
            example_failures=failures,
            cancelled=cancelled,
            policy_tool_matches={name: dict(sorted(tools.items())) for name, tools in sorted(per_tool.items())},
        )
