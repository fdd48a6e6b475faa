"""Cedar policy text: statements with their positions, what each one reads, and checking it.

Everything here is pure (no Django, no I/O): the admin form and the engine use the same checks.

cedarpy reports a parse error as a bare message ("unexpected token `,`") with no position, so each
statement is parsed on its own, which names the line it starts on, and the offending token is then
located inside the statement (see `_locate`), which gives the exact line and column when it can be
told apart. Each statement that parses is read through Cedar's own JSON form of it
(`cedarpy.policies_to_json_str`): its effect, annotations, action scope, and which `context`
attributes it reads; nothing is guessed from the text with regular expressions.
"""

from __future__ import annotations

import bisect
import itertools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import cedarpy

APPROVAL_VALUE = "required"
_COMPARISONS = frozenset({"<", "<=", ">", ">=", "==", "!="})
_CONTEXT = {"Var": "context"}
_TOKEN = re.compile(r'//[^\n]*|"(?:[^"\\\n]|\\.)*"?|[A-Za-z_]\w*|\d+|==|!=|<=|>=|&&|\|\||::|\S')
_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')
_RUNTIME_ERROR = re.compile(r"policy `(policy\d+)`")
_VALIDATION_PREFIX = re.compile(r"^for policy `policy\d+`, ")
_CEDAR_CHARS = set("()[]{},;:.!<>+-*@?=&|")


@dataclass(frozen=True)
class PolicyProblem:
    """One reason a policy text is refused: where (1-based line, column when known) and why."""

    line: int
    message: str
    policy: str = ""
    column: int | None = None

    def __str__(self) -> str:
        where = f"policy {self.policy!r}, " if self.policy else ""
        at = f" (column {self.column})" if self.column else ""
        return f"{where}line {self.line}: {self.message}{at}"


class PolicyError(ValueError):
    """Policies refused at load: the message names each policy and line (`policy 'x', line 3: ...`)."""

    def __init__(self, problems: list[PolicyProblem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = list(problems)


@dataclass(frozen=True)
class Statement:
    """One Cedar statement exactly as written (comments kept), and where it starts in its source."""

    text: str
    offset: int  # index of text[0] in the source
    line: int  # 1-based
    column: int  # 1-based


@dataclass(frozen=True)
class ParsedStatement:
    """What one statement means to the engine, read from Cedar's JSON form of it."""

    statement: Statement
    effect: str  # "permit" | "forbid"
    annotations: dict[str, str | None]
    # Action names the scope can match; None: any action (no scope, or one the engine cannot split on).
    actions: frozenset[str] | None
    # Context attributes read (`context.x`, `context has x`); None: the whole context record is used.
    context_reads: frozenset[str] | None
    # Integer literals `context.value_cents` is compared with; None: the value is used another way.
    value_literals: tuple[int, ...] | None
    action_scope_in: bool = False  # the scope uses `action in ...` (matters only with an entity store)
    uses_principal: bool = True  # the scope or a condition looks at `principal`
    uses_resource: bool = True  # the scope or a condition looks at `resource`

    @property
    def needs_approval(self) -> bool:
        return self.effect == "permit" and "approval" in self.annotations


@dataclass
class _Analysis:
    reads: set[str] = field(default_factory=set)
    whole_context: bool = False
    literals: set[int] = field(default_factory=set)
    value_opaque: bool = False
    compared: set[int] = field(default_factory=set)  # id() of value_cents reads seen inside a comparison
    variables: set[str] = field(default_factory=set)  # principal / action / resource used in conditions


# -- splitting -------------------------------------------------------------------------------------


def split_statements(source: str) -> list[Statement]:
    """Cut Cedar text at top-level semicolons, minding strings and // comments; keeps exact slices."""
    line_starts = [0] + [m.end() for m in re.finditer("\n", source)]
    cuts: list[tuple[int, int]] = []
    start: int | None = None
    i, n = 0, len(source)
    in_string = escaped = False
    while i < n:
        ch = source[i]
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == "/" and source.startswith("//", i):
            end = source.find("\n", i)
            i = n if end < 0 else end
            continue
        elif not ch.isspace():
            if start is None:
                start = i
            if ch == '"':
                in_string = True
            elif ch == ";":
                cuts.append((start, i + 1))
                start = None
        i += 1
    if start is not None:
        cuts.append((start, len(source.rstrip())))
    statements = []
    for begin, end in cuts:
        line = bisect.bisect_right(line_starts, begin)
        statements.append(Statement(source[begin:end], begin, line, begin - line_starts[line - 1] + 1))
    return statements


def _position(statement: Statement, offset: int) -> tuple[int, int]:
    """(line, column) in the source of `offset` within the statement's text."""
    before = statement.text[:offset]
    newlines = before.count("\n")
    if not newlines:
        return statement.line, statement.column + offset
    return statement.line + newlines, offset - before.rfind("\n")


# -- parsing ---------------------------------------------------------------------------------------


def _parse_error(text: str) -> str | None:
    try:
        cedarpy.PolicySet.from_str(text)
    except ValueError as exc:
        return str(exc)
    return None


def _tokens(text: str) -> list[tuple[int, int, str]]:
    return [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(text) if not m.group().startswith("//")]


def _locate(text: str, message: str) -> int | None:
    """Where in `text` the parse error `message` is, when it can be told; None otherwise.

    "unexpected token `T`": Cedar reports the first error, so with several `T` in the statement,
    each is replaced in turn by a token that is wrong almost everywhere; every `T` up to the culprit
    changes the message, the ones after it do not: the culprit is the last one that changes it.
    """
    tokens = _tokens(text)
    if message == "unexpected end of input":
        return len(text.rstrip()) - 1
    if message == "invalid token":
        for start, _end, tok in tokens:
            if tok.startswith('"') and not _STRING.fullmatch(tok):
                return start
            if len(tok) == 1 and not tok.isalnum() and tok != "_" and tok not in _CEDAR_CHARS:
                return start
        return None
    found = re.fullmatch(r"unexpected token `(.+)`", message)
    if found:
        candidates = [t for t in tokens if t[2] == found.group(1)]
        if len(candidates) <= 1:
            return candidates[0][0] if candidates else None
        poison = ")" if found.group(1) == "]" else "]"
        culprit = None
        for start, end, _tok in candidates:
            if _parse_error(text[:start] + poison + text[end:]) != message:
                culprit = start
        return culprit
    if message.startswith("duplicate annotation: @"):
        name = message.rsplit("@", 1)[1]
        ats = [s for (s, _e, t), nxt in itertools.pairwise(tokens) if t == "@" and nxt[2] == name]
        return ats[1] if len(ats) > 1 else None
    if "number too large" in message:
        big = [s for s, _e, t in tokens if t.isdigit() and int(t) > 2**63 - 1]
        return big[0] if big else None
    named = re.findall(r"`([^`]+)`", message) or re.findall(r":\s*([A-Za-z_]\w*)\s*$", message)
    for word in named:
        hits = [s for s, _e, t in tokens if t == word]
        if len(hits) == 1:
            return hits[0]
    return None


def _problem_at(statement: Statement, offset: int | None, message: str, name: str) -> PolicyProblem:
    if offset is None:
        return PolicyProblem(statement.line, message, name)
    line, column = _position(statement, offset)
    return PolicyProblem(line, message, name, column)


def parse_statement(statement: Statement, name: str = "") -> ParsedStatement | list[PolicyProblem]:
    """Parse one statement: its meaning, or the problems that refuse it (with line and column)."""
    text = statement.text
    if not text.endswith(";"):
        return [_problem_at(statement, len(text) - 1, "the policy does not end with ;", name)]
    try:
        est = json.loads(cedarpy.policies_to_json_str(text))
    except ValueError as exc:
        message = str(exc)
        return [_problem_at(statement, _locate(text, message), message, name)]
    if est.get("templates"):
        return [_problem_at(statement, _find(text, "?"),
                            "templates (?principal / ?resource slots) are not supported: name the entity", name)]
    policies = list((est.get("staticPolicies") or {}).values())
    if len(policies) != 1:
        return [PolicyProblem(statement.line, f"expected one policy here, found {len(policies)}", name)]
    policy = policies[0]
    effect = policy.get("effect", "")
    annotations: dict[str, str | None] = dict(policy.get("annotations") or {})
    problems = []
    if "approval" in annotations:
        where = _find(text, "@approval")
        if effect != "permit":
            problems.append(_problem_at(statement, where, '@approval("required") only applies to a permit', name))
        elif (annotations["approval"] or "").strip().lower() != APPROVAL_VALUE:
            found = "a bare @approval" if annotations["approval"] is None else f'@approval("{annotations["approval"]}")'
            problems.append(_problem_at(statement, where, f'write @approval("required"), not {found}', name))
    if problems:
        return problems
    analysis = _Analysis()
    for condition in policy.get("conditions") or []:
        _walk(condition.get("body"), analysis)
    actions, scope_in = _action_names(policy.get("action") or {})
    return ParsedStatement(
        statement=statement,
        effect=effect,
        annotations=annotations,
        actions=actions,
        context_reads=None if analysis.whole_context else frozenset(analysis.reads),
        value_literals=None if analysis.value_opaque or analysis.whole_context else tuple(sorted(analysis.literals)),
        action_scope_in=scope_in,
        uses_principal=(policy.get("principal") or {}).get("op", "All") != "All" or "principal" in analysis.variables,
        uses_resource=(policy.get("resource") or {}).get("op", "All") != "All" or "resource" in analysis.variables,
    )


def _find(text: str, needle: str) -> int | None:
    index = text.find(needle)
    return index if index >= 0 else None


def _action_names(scope: dict[str, Any]) -> tuple[frozenset[str] | None, bool]:
    """The action names an action scope can match (entity type `Action` only); None for any action."""
    op = scope.get("op")
    if op == "==":
        entity = scope.get("entity") or {}
        return (frozenset({entity["id"]}) if entity.get("type") == "Action" else frozenset()), False
    if op == "in":
        entities = scope.get("entities") if "entities" in scope else [scope.get("entity") or {}]
        return frozenset(e["id"] for e in entities if e.get("type") == "Action"), True
    return None, False


def _is_value_read(node: Any) -> bool:
    if not isinstance(node, dict) or len(node) != 1 or "." not in node:
        return False
    access = node["."]
    return isinstance(access, dict) and access.get("left") == _CONTEXT and access.get("attr") == "value_cents"


def _walk(node: Any, analysis: _Analysis) -> None:
    """Collect what an expression (Cedar JSON) reads from `context`."""
    if isinstance(node, list):
        for item in node:
            _walk(item, analysis)
        return
    if not isinstance(node, dict):
        return
    if node == _CONTEXT:  # the record itself, not one attribute of it
        analysis.whole_context = True
        return
    if len(node) == 1 and isinstance(node.get("Var"), str):
        analysis.variables.add(node["Var"])
        return
    for op, arg in node.items():
        if op == "Value":
            continue
        if op == "Record" and isinstance(arg, dict):
            _walk(list(arg.values()), analysis)
            continue
        if op in (".", "has") and isinstance(arg, dict) and arg.get("left") == _CONTEXT:
            analysis.reads.add(arg.get("attr", ""))
            if op == "." and arg.get("attr") == "value_cents" and id(node) not in analysis.compared:
                analysis.value_opaque = True
            continue
        if op in _COMPARISONS and isinstance(arg, dict):
            left, right = arg.get("left"), arg.get("right")
            for value_side, other in ((left, right), (right, left)):
                if _is_value_read(value_side):
                    literal = other.get("Value") if isinstance(other, dict) and len(other) == 1 else None
                    if type(literal) is int:
                        analysis.literals.add(literal)
                        analysis.compared.add(id(value_side))
        _walk(arg, analysis)


def runtime_error_policy(error: str) -> str | None:
    """The positional policy id ("policy3") a Cedar evaluation error names, if any."""
    found = _RUNTIME_ERROR.search(error)
    return found.group(1) if found else None


def runtime_error_message(error: str) -> str:
    return error.split(": ", 1)[1] if ": " in error else error


# -- validation ------------------------------------------------------------------------------------

ToolSpec = Iterable[str] | Mapping[str, Mapping[str, Any] | None]


def product_schema(tools: ToolSpec) -> str:
    """The Cedar schema of what the engine sends (docs/policies.md), as JSON.

    `tools` is the registered tool names, or a mapping of name to the tool's JSON schema; with a JSON
    schema, `context.arguments` is typed from it (strings, integers, booleans, nested objects and
    arrays of those; fractional numbers and nulls are never sent, see `cedar_arguments`).
    """
    base = {
        "tool": {"type": "String"},
        "actor": {"type": "String"},
        "domain": {"type": "String"},
        "value_cents": {"type": "Long", "required": False},
        "target": {"type": "String", "required": False},
    }
    specs = tools if isinstance(tools, Mapping) else dict.fromkeys(tools)
    actions = {}
    for name, spec in specs.items():
        attributes = dict(base)
        arguments = _record_type(spec) if spec else None
        if arguments is not None:  # the engine always sends `arguments` to a policy that reads it
            attributes["arguments"] = arguments
        actions[name] = {"appliesTo": {"principalTypes": ["Agent"], "resourceTypes": ["Domain"],
                                       "context": {"type": "Record", "attributes": attributes}}}
    return json.dumps({"": {"entityTypes": {"Agent": {}, "Domain": {}}, "actions": actions}})


def _json_types(spec: Mapping[str, Any]) -> tuple[set[str], bool]:
    raw = spec.get("type")
    types = set(raw) if isinstance(raw, list) else ({raw} if isinstance(raw, str) else set())
    for option in spec.get("anyOf") or []:
        if isinstance(option, Mapping):
            more, _ = _json_types(option)
            types |= more
    nullable = "null" in types
    return types - {"null"}, nullable


def _cedar_type(spec: Mapping[str, Any]) -> dict[str, Any] | None:
    types, _ = _json_types(spec)
    if len(types) != 1:
        return None
    (kind,) = types
    if kind == "string":
        return {"type": "String"}
    if kind == "integer":
        return {"type": "Long"}
    if kind == "boolean":
        return {"type": "Boolean"}
    if kind == "object":
        return _record_type(spec)
    if kind == "array" and isinstance(spec.get("items"), Mapping):
        element = _cedar_type(spec["items"])
        return {"type": "Set", "element": element} if element else None
    return None  # "number": fractions are not sent, so a policy cannot rely on it


def _record_type(spec: Mapping[str, Any]) -> dict[str, Any] | None:
    properties = spec.get("properties")
    if not isinstance(properties, Mapping):
        return None
    required = set(spec.get("required") or [])
    attributes = {}
    for key, prop in properties.items():
        if not isinstance(prop, Mapping):
            continue
        cedar = _cedar_type(prop)
        if cedar is None:
            continue
        _, nullable = _json_types(prop)
        attributes[key] = {**cedar, "required": key in required and not nullable}
    return {"type": "Record", "attributes": attributes}


def validate_statements(
    parsed: list[ParsedStatement], *, name: str, tools: ToolSpec, schema: str | None = None
) -> list[PolicyProblem]:
    """Schema problems of parsed statements against the product schema for `tools`."""
    specs = tools if isinstance(tools, Mapping) else dict.fromkeys(tools)
    schema = schema or product_schema(specs)
    problems = []
    for item in parsed:
        reads = item.context_reads
        untyped_arguments = reads is None or "arguments" in reads
        if untyped_arguments and (item.actions is None or any(not specs.get(a) for a in item.actions)):
            # Tool arguments are an open record, which a Cedar schema cannot describe: such a policy is
            # checked for its action names only.
            unknown = sorted(a for a in (item.actions or ()) if a not in specs)
            problems.extend(
                _problem_at(item.statement, _find(item.statement.text, f'"{a}"'),
                            f'unrecognized action `Action::"{a}"`', name) for a in unknown
            )
            continue
        messages = _validation_messages(item.statement.text, schema)
        problems.extend(
            _problem_at(item.statement, _locate_validation(item.statement.text, m, schema), m, name)
            for m in sorted(messages)
        )
    return problems


def _validation_messages(text: str, schema: str) -> set[str]:
    result = cedarpy.validate_policies(text, schema)
    return set() if result.validation_passed else {_VALIDATION_PREFIX.sub("", e.error) for e in result.errors}


def _scope_and_operands(text: str) -> tuple[tuple[int, int] | None, list[tuple[int, int]]]:
    """The (start, end) of a statement's scope `(...)`, and of each top-level operand of `&&`/`||` in
    each `when`/`unless` body, in the order they are written."""
    scope: tuple[int, int] | None = None
    operands: list[tuple[int, int]] = []
    depth, scope_start, in_body = 0, None, False
    start = last_end = None
    for begin, end, tok in _tokens(text):
        if depth == 0 and scope is None and tok in ("permit", "forbid"):
            scope_start = -1  # the next "(" opens the scope (an annotation's parentheses come before)
        if in_body and tok == "}" and depth == 1:
            if start is not None:
                operands.append((start, last_end))
            depth, in_body, start = 0, False, None
            continue
        if in_body and depth == 1 and tok in ("&&", "||"):
            if start is not None:
                operands.append((start, last_end))
            start = None
            continue
        if in_body:
            start = begin if start is None else start
            last_end = end
        if tok in ("(", "[", "{"):
            if depth == 0 and tok == "(" and scope_start == -1:
                scope_start = begin
            elif depth == 0 and tok == "{":
                in_body = True
            depth += 1
        elif tok in (")", "]", "}"):
            depth -= 1
            if depth == 0 and tok == ")" and scope is None and scope_start not in (None, -1):
                scope = (scope_start, end)
    return scope, operands


def _locate_validation(text: str, message: str, schema: str) -> int | None:
    """Where in a statement that parses the schema error `message` is, when it can be told.

    cedarpy reports validation errors with no position. The statement is validated cut short: its
    scope alone, then up to the end of each operand of `&&`/`||` in its conditions in turn; the first
    cut with the error holds the culprit (earlier operands stay, so a `has` guard still guards). Inside
    that part, a name the message quotes in backticks is pointed at when it occurs there once.
    """
    scope, operands = _scope_and_operands(text)
    if scope is None:
        return None
    cuts = [(scope, text[:scope[1]] + ";")] + [((b, e), text[:e] + " };") for b, e in operands]
    for (begin, end), cut in cuts:
        if message not in _validation_messages(cut, schema):
            continue
        tokens = [t for t in _tokens(text[begin:end]) if t[2] not in ("(", ")")]
        for quoted in re.findall(r"`([^`]+)`", message):
            last = _tokens(quoted)[-1][2] if _tokens(quoted) else quoted
            hits = [s for s, _e, t in tokens if t == last]
            if len(hits) == 1:
                return begin + hits[0]
        if (begin, end) == scope:
            hits = [s for s, _e, t in tokens if t == "action"]
            return begin + (hits[0] if hits and "action" in message else tokens[0][0] if tokens else 0)
        return begin
    return None


def parse_text(text: str, name: str = "") -> tuple[list[ParsedStatement], list[PolicyProblem]]:
    """Every statement of `text`, parsed; and every problem (parse errors, bad annotations, duplicate ids)."""
    parsed: list[ParsedStatement] = []
    problems: list[PolicyProblem] = []
    seen_ids: dict[str, int] = {}
    for statement in split_statements(text):
        result = parse_statement(statement, name)
        if isinstance(result, list):
            problems.extend(result)
            continue
        own_id = result.annotations.get("id")
        if own_id is not None:
            if own_id in seen_ids:
                problems.append(_problem_at(statement, _find(statement.text, "@id"),
                                            f'@id("{own_id}") is already used on line {seen_ids[own_id]}', name))
                continue
            seen_ids[own_id] = statement.line
        parsed.append(result)
    return parsed, problems


def validate_policy_text(text: str, *, name: str = "", tools: ToolSpec | None = None) -> list[PolicyProblem]:
    """Every problem with a policy text, for a form to show; an empty list means it is accepted.

    Parse errors (with line, and column when the token can be located), a missing `;`, annotation
    mistakes (`@approval` must be `@approval("required")` on a permit), templates, duplicate `@id`s.
    With `tools` (names, or name -> JSON schema), also validation against the product's Cedar schema:
    a misspelt action or context attribute is refused instead of silently never matching.
    """
    if not split_statements(text):
        return [PolicyProblem(1, "no policy found: write permit(...) or forbid(...) ending with ;", name)]
    parsed, problems = parse_text(text, name)
    if problems or tools is None:
        return problems
    return validate_statements(parsed, name=name, tools=tools)


def format_policy_text(text: str, *, line_width: int = 80, indent_width: int = 2) -> str:
    """Cedar's own formatting of a policy text (comments are not kept). Raises `PolicyError` if it does not parse."""
    problems = validate_policy_text(text)
    if problems:
        raise PolicyError(problems)
    return cedarpy.format_policies(text, line_width, indent_width)
