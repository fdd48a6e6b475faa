"""Cedar policy text: splitting it into statements with their line numbers, and checking it.

cedarpy reports a parse error without a position, so each statement is parsed on its own to name
the line it starts on. Validation against the product's Cedar schema (entity types `Agent` and
`Domain`, one action per registered tool, the context attributes) catches misspelt actions and
attributes before a policy silently never matches.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import cedarpy

_ANNOTATION = re.compile(r'@(\w+)\s*\(\s*"((?:[^"\\]|\\.)*)"\s*\)')


@dataclass(frozen=True)
class Statement:
    text: str
    line: int  # 1-based line of the statement's first token in its source

    @property
    def annotations(self) -> dict[str, str]:
        """Cedar annotations such as @id("...") and @approval("required"), written before the effect."""
        return dict(_ANNOTATION.findall(self.text[: _effect_position(self.text)]))

    @property
    def effect(self) -> str:
        match = re.search(r"\b(permit|forbid)\s*\(", self.text)
        return match.group(1) if match else ""


@dataclass(frozen=True)
class PolicyProblem:
    """One reason a policy text is refused, with the line it starts on."""

    line: int
    message: str
    policy: str = ""

    def __str__(self) -> str:
        where = f"policy {self.policy!r}, " if self.policy else ""
        return f"{where}line {self.line}: {self.message}"


class PolicyError(ValueError):
    """A policy that does not parse or does not validate; the message names the policy and line."""

    def __init__(self, problems: list[PolicyProblem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


def _effect_position(text: str) -> int:
    match = re.search(r"\b(permit|forbid)\s*\(", text)
    return match.start() if match else len(text)


def split_statements(text: str) -> list[Statement]:
    """Cut Cedar text at top-level semicolons, minding strings and // comments."""
    statements: list[Statement] = []
    buf: list[str] = []
    line, start_line = 1, None
    in_string = escaped = in_comment = False
    for ch in text:
        if in_comment:
            if ch == "\n":
                in_comment = False
        elif in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "/" and buf and buf[-1] == "/":
            buf.pop()
            in_comment = True
        if not in_comment:
            if start_line is None and not ch.isspace() and ch != "/":
                start_line = line
            buf.append(ch)
            if ch == ";" and not in_string:
                statements.append(Statement("".join(buf).strip(), start_line or line))
                buf, start_line = [], None
        if ch == "\n":
            line += 1
    rest = "".join(buf).strip()
    if rest:
        statements.append(Statement(rest, start_line or line))
    return statements


def product_schema(tools: list[str]) -> str:
    """The Cedar schema of what the engine sends: see docs/policies.md."""
    context = {
        "type": "Record",
        "attributes": {
            "tool": {"type": "String"},
            "actor": {"type": "String"},
            "domain": {"type": "String"},
            "value_cents": {"type": "Long", "required": False},
            "target": {"type": "String", "required": False},
        },
    }
    actions = {
        name: {"appliesTo": {"principalTypes": ["Agent"], "resourceTypes": ["Domain"], "context": context}}
        for name in tools
    }
    return json.dumps({"": {"entityTypes": {"Agent": {}, "Domain": {}}, "actions": actions}})


def validate_policy_text(text: str, *, name: str = "", tools: list[str] | None = None) -> list[PolicyProblem]:
    """Every problem with `text`: parse errors per statement; with `tools`, schema validation too.

    Policies that read `context.arguments` are checked for parsing only: tool arguments are an open
    record, which a Cedar schema cannot describe.
    """
    statements = split_statements(text)
    if not statements:
        return [PolicyProblem(1, "no policy found: write permit(...) or forbid(...) ending with ;", name)]
    problems = []
    for statement in statements:
        if not statement.text.endswith(";"):
            problems.append(PolicyProblem(statement.line, "the policy does not end with ;", name))
            continue
        try:
            cedarpy.PolicySet.from_str(statement.text)
        except ValueError as exc:
            problems.append(PolicyProblem(statement.line, str(exc), name))
    if problems or tools is None:
        return problems
    schema = product_schema(tools)
    for statement in statements:
        if "context.arguments" in statement.text or "arguments" in statement.text.split("when", 1)[-1]:
            continue
        result = cedarpy.validate_policies(statement.text, schema)
        if not result.validation_passed:
            messages = sorted({re.sub(r"^\[policy0\] for policy `policy0`, ", "", str(e)) for e in result.errors})
            problems.extend(PolicyProblem(statement.line, m, name) for m in messages)
    return problems
