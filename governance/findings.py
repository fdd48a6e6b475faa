"""Findings: what a replay (governance/replay.py) says of each policy of the set it replayed.

`findings(policy_set, result)` reads each enabled active policy of `policy_set` through Cedar's own
parse of it (`governance.policy.text.parse_text`: each statement's effect, `@approval`, and the actions
its scope names; a scope naming no action covers every tool) and the replay's counts:

- ineffective: the policy matched none of the decisions replayed (it changes nothing the last days saw);
- overly_permissive: a plain permit (no `@approval`) that matched every replayed call of a tool it
  covers (at least one): its conditions never held a call of that tool back;
- overly_restrictive: a forbid that matched every replayed decision of the tools it covers: none of
  those calls could ever run.

Only tools the set has enabled count as covered (the others are blocked before any policy is asked).
A policy mixing permits and forbids is judged only for being ineffective: its matches are counted per
policy, not per statement. Nothing is found when nothing was replayed.
"""

from __future__ import annotations

from dataclasses import dataclass

from .policy.text import ParsedStatement, parse_text
from .replay import ReplayResult


@dataclass(frozen=True)
class Finding:
    kind: str  # "ineffective" | "overly_permissive" | "overly_restrictive"
    policy: str
    message: str


def findings(policy_set: dict, result: ReplayResult) -> list[Finding]:
    """The findings of every enabled active policy of `policy_set` in `result` (a replay of that set), by
    policy name then kind. No side effects."""
    if result.total == 0:
        return []
    window = _window(result)
    enabled_tools = {name for name, tool in policy_set.get("tools", {}).items() if tool.get("enabled")}
    found: list[Finding] = []
    for name, policy in sorted(policy_set.get("policies", {}).items()):
        if not policy.get("enabled") or policy.get("mode", "active") != "active":
            continue
        statements, problems = parse_text(policy.get("cedar") or "", name)
        if problems or not statements:
            continue  # a set that does not load cannot be replayed: the replay refused it already
        covered = _covered(statements, enabled_tools)
        seen = {tool: result.tools_seen[tool] for tool in sorted(covered) if result.tools_seen.get(tool)}
        matched = result.policy_matches.get(name, 0)
        by_tool = result.policy_tool_matches.get(name, {})
        if matched == 0:
            found.append(Finding("ineffective", name, _ineffective(name, result.total, window, covered, seen)))
            continue
        effects = {(s.effect, s.needs_approval) for s in statements}
        if effects == {("permit", False)}:
            whole = [tool for tool, n in seen.items() if by_tool.get(tool, 0) == n]
            if whole:
                found.append(Finding("overly_permissive", name, (
                    f"{name} permitted {_every(whole, seen)} replayed from {window}: its conditions never held "
                    f"a call back. Narrow it (a value limit, an actor, a target) or say so with a "
                    f"policy example.")))
        elif effects == {("forbid", False)} and seen and sum(by_tool.get(t, 0) for t in seen) == sum(seen.values()):
            found.append(Finding("overly_restrictive", name, (
                f"{name} forbade {_every(list(seen), seen)} replayed from {window}: none of them could run. "
                f"If some should, add the condition that lets them through.")))
    return found


def _covered(statements: list[ParsedStatement], enabled_tools: set[str]) -> set[str]:
    covered: set[str] = set()
    for statement in statements:
        covered |= enabled_tools if statement.actions is None else statement.actions & enabled_tools
    return covered


def _ineffective(name: str, total: int, window: str, covered: set[str], seen: dict[str, int]) -> str:
    text = f"{name} matched none of the {_n(total, 'decision')} replayed from {window}"
    if not covered:
        return f"{text}: it names no enabled tool, so it never decides anything."
    if not seen:
        return f"{text}: {_names(sorted(covered))} {'was' if len(covered) == 1 else 'were'} not called."
    return f"{text}, {_n(sum(seen.values()), 'call')} of {_names(list(seen))} among them: its conditions never held."


def _every(tools: list[str], seen: dict[str, int]) -> str:
    return _names([f"the one call of {t}" if seen[t] == 1 else f"all {seen[t]:,} calls of {t}" for t in tools])


def _names(tools: list[str]) -> str:
    return tools[0] if len(tools) == 1 else ", ".join(tools[:-1]) + f" and {tools[-1]}"


def _n(count: int, word: str) -> str:
    return f"{count:,} {word}" if count == 1 else f"{count:,} {word}s"


def _window(result: ReplayResult) -> str:
    days = round((result.until - result.since).total_seconds() / 86400)
    return "the last day" if days == 1 else f"the last {days} days"
