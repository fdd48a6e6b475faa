"""Replay: deciding the recorded calls of the last days again with a policy set, and what would change.

`replay(policy_set, days=30)` reads every `DecisionInput` (governance/decision_inputs.py) of the window
in chunks, in the order they were recorded, decides each with an engine built once from `policy_set`
(a snapshot, governance/versions.py: `snapshot()` is the active set, `draft(saving=obj)` the set as it
would be after a save), exactly as `governance.policy_examples` decides an example: a tool the set does
not have, or has disabled, is blocked; the call is otherwise the one the original decision saw (its
tool, actor, domain, value, target and arguments; the tool's decision mode from the set). Each outcome
is compared with the recorded one (the policies' own outcome, also in an observe-only domain), or, given
a `baseline` set, with what that set decides of the same call (both engines built once; the recorded
outcome is then not used: the question is what the set changes, not what changed since). `domains` keeps
only the calls of those domains. Calls recorded with redacted arguments are decided with the markers,
not the real values, and counted. Given a `limit`, a window holding more decisions is refused
(`TooManyDecisions`) before any is decided.

The result (`ReplayResult`, JSON-safe through `to_dict`/`from_dict`) counts the calls that change, by
outcome pair and by (tool, actor), keeps a few examples, how many calls each policy matched
(governance/findings.py reads them) and the policy examples the set breaks (with a baseline, those the
baseline does not break already). Nothing is written.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Min, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from governance.decisions import ActionRequest, Decision, DecisionBackendError

from . import policy_examples
from .models import DecisionInput

CHUNK = 2000
MAX_GROUPS = 50
MAX_EXAMPLES = 20
# What deciding a call needs; the few examples' times and ids are read afterwards (converting every row's
# time and run id would cost a replay a fifth of its time). The arguments come as JSON text, decoded only
# for a tool some policy reads the arguments of.
_COLUMNS = ("id", "tool", "actor", "domain", "value", "target", "arguments_text", "redacted", "outcome")


@dataclass(frozen=True)
class ReplayResult:
    """What a policy set decides otherwise among the recorded calls of a window."""

    since: datetime
    until: datetime
    total: int  # decisions replayed
    changed: int  # of them, how many the draft decides otherwise
    redacted: int  # replayed with redacted arguments
    transitions: list[tuple[str, str, int]]  # (recorded or baseline, draft outcome, count) of changes, most first
    groups: list[dict]  # {"tool","actor","from","to","count"} of changes, most first, at most 50
    # {"run_id","call_id","tool","actor","from","to","occurred_at","reason"}, at most 20: one of each group
    # first (oldest first), then more of the groups
    examples: list[dict]
    policy_matches: dict[str, int]  # policy name -> replayed decisions it matched under the draft
    tools_seen: dict[str, int]  # tool -> decisions replayed
    example_failures: list[str]  # str(Failure) of policy examples the draft breaks (and the baseline not)
    cancelled: bool
    # Beyond the contract, for governance/findings.py: policy name -> statement id (as decisions name it,
    # `governance.policy.engine.statement_id`) -> tool -> replayed decisions of that tool it matched.
    statement_matches: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)

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
            cancelled=data["cancelled"], statement_matches=dict(data.get("statement_matches") or {}),
        )


class TooManyDecisions(Exception):
    """The window holds more decisions than the caller's `limit` allows."""

    def __init__(self, count: int, limit: int) -> None:
        super().__init__(f"{count:,} recorded decisions in the window, more than {limit:,}")
        self.count, self.limit = count, limit


def replay(policy_set: dict, *, days: int = 30, progress: Callable[[int, int], bool] | None = None,
           domains: Iterable[str] | None = None, baseline: dict | None = None,
           limit: int | None = None) -> ReplayResult:
    """Decide every DecisionInput of the last `days` days with `policy_set` (a snapshot:
    governance.versions.snapshot() is the active set, versions.draft(saving=obj) a draft) and
    compare with the recorded outcome, or with what `baseline` (another snapshot) decides of the same call.
    `domains`: only the calls recorded in these domains (None: every domain). `progress(done, total)` is
    called every chunk; returning False cancels (the result then has cancelled=True and counts what was done).

    Raises `TooManyDecisions` when the window holds more than `limit` decisions (nothing decided), and
    `governance.policy.PolicyError` when an enabled policy of a set does not load. No side effects.
    """
    until = timezone.now()
    since = until - timedelta(days=days)
    window = DecisionInput.objects.filter(occurred_at__gte=since, occurred_at__lte=until)
    if domains is not None:
        window = window.filter(domain__in=list(domains))
    # How many, and where they start: older rows (lower ids) are skipped by the keyset, not filtered one by one.
    bounds = window.aggregate(n=Count("id"), first=Min("id"))
    total_in_window = bounds["n"]
    if limit is not None and total_in_window > limit:
        raise TooManyDecisions(total_in_window, limit)
    decider = _Decider(policy_set)
    tally = _Tally(decider, None if baseline is None else _Decider(baseline))
    cancelled = False
    last_id = (bounds["first"] or 1) - 1
    while True:
        rows = list(window.filter(id__gt=last_id).order_by("id")
                    .annotate(arguments_text=Cast("arguments", TextField())).values_list(*_COLUMNS)[:CHUNK])
        if not rows:
            break
        for row in rows:
            tally.add(row)
        last_id = rows[-1][0]
        if progress is not None and progress(tally.total, total_in_window) is False:
            cancelled = True
            break
    failures = policy_examples.failures(policy_set=policy_set)
    if baseline is not None and failures:  # only the examples the set breaks and the baseline does not
        already = {f.example for f in policy_examples.failures(policy_set=baseline)}
        failures = [f for f in failures if f.example not in already]
    return tally.result(since=since, until=until, cancelled=cancelled, failures=[str(f) for f in failures])


def _group_of(example: dict) -> tuple[str, str, str, str]:
    return example["tool"], example["actor"], example["from"], example["to"]


class _Decider:
    """One policy set's engine deciding recorded calls, and what it knows of each tool (found once)."""

    def __init__(self, policy_set: dict) -> None:
        self.policy_set = policy_set
        self.tools = policy_set.get("tools", {})
        self.engine = policy_examples.engine_for(policy_set)
        self._tools: dict[str, tuple[Decision | None, str, bool]] = {}

    def decide(self, tool: str, actor: str, domain: str, value: Any, target: Any,
               arguments: str | None) -> tuple[str, tuple[str, ...], Decision | None, ActionRequest | None]:
        """(outcome, ids of the statements that matched, the block of a tool the set lacks or disabled, the
        request decided); `arguments` is the recorded JSON text."""
        refused, mode, reads_arguments = self._tool(tool)
        if refused is not None:
            return refused.outcome, (), refused, None
        decoded = (json.loads(arguments) if arguments else {}) if reads_arguments else {}
        request = ActionRequest(tool=tool, action=tool, arguments=decoded if isinstance(decoded, dict) else {},
                                actor=actor, domain=domain, value=value, target=target, decision_mode=mode)
        try:
            now, matched = self.engine.outcome(request)
        except (ValueError, DecisionBackendError):  # blocked, as a run blocks it (the reason says why)
            now, matched = policy_examples.evaluate(self.engine, request).outcome, ()
        return now, matched, None, request

    def reason(self, refused: Decision | None, request: ActionRequest | None) -> str:
        # A reason never quotes the arguments: a request left without them explains the same.
        return refused.reason if refused is not None else policy_examples.evaluate(self.engine, request).reason

    def _tool(self, name: str) -> tuple[Decision | None, str, bool]:
        """The block of a tool the set lacks or disabled, else None; the tool's decision mode; whether a policy
        reads its calls' arguments."""
        known = self._tools.get(name)
        if known is None:
            refused = policy_examples.refusal(name, self.policy_set)
            mode = "submit" if refused is not None else self.tools[name].get("decision_mode") or "submit"
            known = self._tools[name] = (refused, mode, self.engine.reads_arguments(name))
        return known


class _Tally:
    """The counts of one replay, added to call by call."""

    def __init__(self, decider: _Decider, baseline: _Decider | None) -> None:
        self.decider = decider
        self.baseline = baseline
        self.policy_names = decider.engine.policy_names
        self.total = 0
        self.redacted = 0
        self.tools_seen: Counter[str] = Counter()
        self.changes: Counter[tuple[str, str, str, str]] = Counter()  # (tool, actor, from, to)
        self.matched: Counter[tuple[str, tuple[str, ...]]] = Counter()  # (tool, matched ids)
        self.examples: list[dict] = []
        self._shown: Counter[tuple[str, str, str, str]] = Counter()  # examples kept, by group

    def add(self, row: tuple) -> None:
        pk, tool, actor, domain, value, target, arguments, redacted, outcome = row
        self.total += 1
        self.tools_seen[tool] += 1
        if redacted:
            self.redacted += 1
        now, matched, refused, request = self.decider.decide(tool, actor, domain, value, target, arguments)
        if matched:
            self.matched[(tool, matched)] += 1
        if self.baseline is not None:
            outcome = self.baseline.decide(tool, actor, domain, value, target, arguments)[0]
        if now == outcome:
            return
        group = (tool, actor, outcome, now)
        self.changes[group] += 1
        slot = self._example_slot(group)
        if slot is not None:
            if slot < len(self.examples):
                self._shown[_group_of(self.examples[slot])] -= 1
            self._shown[group] += 1
            example = {"id": pk, "tool": tool, "actor": actor, "from": outcome, "to": now,
                       "reason": self.decider.reason(refused, request)}
            self.examples[slot:slot + 1] = [example]

    def _example_slot(self, group: tuple[str, str, str, str]) -> int | None:
        """Where a new example of `group` goes: appended while there is room; once full, in place of the
        latest example of the group with the most, if `group` has none yet (every group gets one before
        any gets more); else None."""
        if len(self.examples) < MAX_EXAMPLES:
            return len(self.examples)
        shown = self._shown
        if shown[group]:
            return None
        most = max(shown, key=lambda g: shown[g])
        if shown[most] == 1:
            return None
        return max((i for i, e in enumerate(self.examples) if _group_of(e) == most),
                   key=lambda i: self.examples[i]["id"])

    def located_examples(self) -> list[dict]:
        """The examples with the run, call and time of their recorded decision (one query)."""
        where = {pk: rest for pk, *rest in DecisionInput.objects.filter(pk__in=[e["id"] for e in self.examples])
                 .values_list("pk", "run_id", "call_id", "occurred_at")}
        located = []
        for example in sorted(self.examples, key=lambda e: e["id"]):
            if example["id"] not in where:  # deleted since it was replayed
                continue
            run_id, call_id, occurred_at = where[example["id"]]
            located.append({"run_id": None if run_id is None else str(run_id), "call_id": call_id,
                            "tool": example["tool"], "actor": example["actor"], "from": example["from"],
                            "to": example["to"], "occurred_at": occurred_at.isoformat(), "reason": example["reason"]})
        return located

    def result(self, *, since: datetime, until: datetime, cancelled: bool, failures: list[str]) -> ReplayResult:
        transitions: Counter[tuple[str, str]] = Counter()
        for (_tool, _actor, before, after), n in self.changes.items():
            transitions[(before, after)] += n
        per_policy: Counter[str] = Counter(dict.fromkeys(self.policy_names.values(), 0))
        statements: dict[str, dict[str, Counter[str]]] = {name: {} for name in self.policy_names.values()}
        for (tool, ids), n in self.matched.items():
            for name in {self.policy_names[i] for i in ids if i in self.policy_names}:
                per_policy[name] += n
            for sid in ids:
                if sid in self.policy_names:
                    statements[self.policy_names[sid]].setdefault(sid, Counter())[tool] += n
        return ReplayResult(
            since=since, until=until, total=self.total, changed=sum(self.changes.values()), redacted=self.redacted,
            transitions=[(a, b, n) for (a, b), n in sorted(transitions.items(), key=lambda kv: (-kv[1], kv[0]))],
            groups=[{"tool": tool, "actor": actor, "from": a, "to": b, "count": n}
                    for (tool, actor, a, b), n in sorted(self.changes.items(), key=lambda kv: (-kv[1], kv[0]))
                    ][:MAX_GROUPS],
            examples=self.located_examples() if self.examples else [],
            policy_matches=dict(sorted(per_policy.items())),
            tools_seen=dict(sorted(self.tools_seen.items())),
            example_failures=failures,
            cancelled=cancelled,
            statement_matches={name: {sid: dict(sorted(tools.items())) for sid, tools in sorted(by_id.items())}
                               for name, by_id in sorted(statements.items())},
        )
