"""The embedded policy engine: Cedar (through cedarpy) deciding allowed / blocked / requires approval.

The Cedar request for one proposed call (docs/policies.md):

    principal  Agent::"<actor>"        action  Action::"<tool or action name>"
    resource   Domain::"<domain>"      context {tool, actor, domain, value_cents?, target?, arguments?}

`value_cents` is the call's value in whole cents, a Cedar Long (see `sources.py`: Cedar has no
floating point, cents make 100.00 vs 100.01 exact). `arguments` is the tool arguments as a Cedar
record (nulls, fractional numbers and integers outside Cedar's Long range are left out).

Outcomes. Cedar itself only answers Allow or Deny; its diagnostics name the determining policies: every
matching `forbid` on Deny, every matching `permit` on Allow. That is enough to tell three outcomes
apart in one evaluation:

- any matching `forbid`                                    -> blocked
- Allow, and a matching permit is `@approval("required")`   -> requires approval (it wins over plain
  permits that match too: the most restrictive answer)
- Allow, only plain permits match                          -> allowed
- nothing matches                                          -> the domain's default (blocked unless
  configured: fail closed)

A policy that fails to evaluate (e.g. reads `context.value_cents` without `context has value_cents` on
a call with no value) is skipped by Cedar. Here it can only make the answer stricter: a failing
`forbid` blocks, a failing approval permit asks a reviewer; the reason says so.

Speed. Policies are parsed once, at construction. They are grouped by the actions their scope names,
so a request is evaluated only against the statements that can match it; the context carries only the
attributes those statements read. With no clock and a fixed entity store, a Cedar answer depends on
the request alone, so answers are memoised, and requests Cedar cannot tell apart share an entry: when
every statement compares `context.value_cents` only with integer literals, two values that fall
between the same literals get the same answer from Cedar (the memo key holds that interval, not the
value). Reasons and request ids are made fresh for each call.
"""

from __future__ import annotations

import bisect
import json
import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import cedarpy

from governance.decisions import ActionRequest, Decision, DecisionBackendError, Resolution

from .sources import CEDAR_LONG_MAX, PolicySource, ToolThreshold, format_value, to_cents
from .text import (
    ParsedStatement,
    PolicyError,
    PolicyProblem,
    ToolSpec,
    parse_text,
    product_schema,
    runtime_error_message,
    runtime_error_policy,
    validate_statements,
)

OUTCOMES_BY_STRICTNESS = ("allowed", "requires_approval", "blocked")
DEFAULT_CACHE_SIZE = 4096
_VERBS = {"allowed": "is allowed", "blocked": "is blocked", "requires_approval": "requires approval"}
_DEFAULT_WORDS = {"allowed": "allowed", "blocked": "blocked", "requires_approval": "requires approval"}
_JSON = json.JSONEncoder(default=str, separators=(",", ":"))
_JSON_SORTED = json.JSONEncoder(default=str, separators=(",", ":"), sort_keys=True)


class _RequestIds:
    """Random (version 4) UUID strings, drawing entropy from os.urandom in blocks.

    `uuid.uuid4()` makes one system call per id, a tenth of a memoised evaluation; a block of 256 ids
    costs one. The block is thrown away in a forked child, so forked workers never share ids.
    """

    def __init__(self, block: int = 256) -> None:
        self._size = 16 * block
        self._lock = threading.Lock()
        self._buffer = b""
        self._at = 0
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._buffer, self._at = b"", 0

    def __call__(self) -> str:
        with self._lock:
            if self._at + 16 > len(self._buffer):
                self._buffer, self._at = os.urandom(self._size), 0
            raw = bytearray(self._buffer[self._at:self._at + 16])
            self._at += 16
        raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
        raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
        h = raw.hex()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


new_request_id = _RequestIds()


@dataclass(frozen=True)
class _Entry:
    """One Cedar statement as the engine knows it: who wrote it and how to explain a match."""

    display_id: str
    effect: str
    needs_approval: bool
    reason: str | None
    parsed: ParsedStatement
    order: int  # position among all loaded statements: reasons list matches in this order
    source: str = ""  # the PolicySource's name ("" for a tool threshold)

    def explain(self, value: Any) -> str:
        if self.reason is None:
            text = "forbidden" if self.effect == "forbid" else (
                "approval required" if self.needs_approval else "permitted")
        elif "{value}" in self.reason:
            text = self.reason.replace("{value}", "(none)" if value is None else format_value(value))
        else:
            text = self.reason
        return f"{text} (policy {self.display_id})"


@dataclass(frozen=True)
class _Bucket:
    """The statements that can match a set of actions, parsed into one Cedar policy set."""

    ident: int
    policy_set: cedarpy.PolicySet
    by_cedar_id: dict[str, _Entry]  # Cedar's positional "policy<N>" -> entry
    reads: frozenset[str] | None  # context attributes read; None: all of them
    literals: tuple[int, ...] | None  # what value_cents is compared with; None: key on the exact value
    uses_principal: bool  # some statement looks at the principal (else the actor is not in the memo key)
    uses_resource: bool  # some statement looks at the resource (else the domain is not in the memo key)

    def reads_attr(self, name: str) -> bool:
        return self.reads is None or name in self.reads


@dataclass(frozen=True)
class _Verdict:
    """Cedar's answer as the engine reads it; outcome None: nothing matched, the domain default applies."""

    outcome: str | None
    determining: tuple[tuple[_Entry, str | None], ...]  # (entry, evaluation error or None)
    cedar_decision: str | None
    matched_ids: tuple[str, ...]
    errors: tuple[str, ...]


def statement_id(name: str, index: int, parsed: list[ParsedStatement]) -> str:
    """The id a decision names the `index`-th statement of policy `name` by (its reasons, `policy_ids`,
    `raw["matched"]`): the policy's name when it has one statement, `name/<@id>` when the statement
    has an `@id`, else `name#<position>`."""
    own_id = parsed[index].annotations.get("id")
    if own_id is not None:
        return f"{name}/{own_id}"
    return name if len(parsed) == 1 else f"{name}#{index + 1}"


class EmbeddedPolicyEngine:
    """A `DecisionBackend` over Cedar policies and value thresholds kept in this process.

    `policies`: `PolicySource` and `ToolThreshold` objects. `domain_defaults`: outcome when no policy
    matches, per domain; `default_outcome` for every other domain (blocked: fail closed). `tools`
    (names, or name -> JSON schema): validate every policy against the product's Cedar schema too.
    `entities`: a Cedar entity store (JSON list or text), parsed once, for policies that use `in`.
    Raises `PolicyError` naming the policy and line of every statement that is refused.
    """

    name = "embedded"

    def __init__(
        self,
        policies: Iterable[PolicySource | ToolThreshold] | None = None,
        *,
        domain_defaults: Mapping[str, str] | None = None,
        default_outcome: str = "blocked",
        tools: ToolSpec | None = None,
        entities: list[dict[str, Any]] | str | None = None,
        cache_size: int = DEFAULT_CACHE_SIZE,
    ) -> None:
        self.domain_defaults = dict(domain_defaults or {})
        self.default_outcome = default_outcome
        for domain, outcome in (("(any)", default_outcome), *self.domain_defaults.items()):
            if outcome not in OUTCOMES_BY_STRICTNESS:
                raise ValueError(
                    f"a domain default must be one of {OUTCOMES_BY_STRICTNESS}, got {outcome!r} for {domain}")
        self._entities = cedarpy.Entities.from_json_str(
            entities if isinstance(entities, str) else json.dumps(entities or []))
        actions_in_store = entities is not None and '"Action"' in str(self._entities)
        self._entries = self._compile(list(policies or []), tools)
        self._buckets, self._fallback = self._group(actions_in_store)
        self._cache_size = max(0, cache_size)
        self._memo: dict[tuple[Any, ...], _Verdict] = {}
        self._memo_lock = threading.Lock()

    # -- construction -----------------------------------------------------------------------------

    @staticmethod
    def _compile(sources: list[PolicySource | ToolThreshold], tools: ToolSpec | None) -> list[_Entry]:
        schema = product_schema(tools) if tools is not None else None
        entries: list[_Entry] = []
        problems: list[PolicyProblem] = []
        for source in sources:
            if isinstance(source, ToolThreshold):
                text, fixed_id = source.to_cedar(), True
            elif isinstance(source, PolicySource):
                text, fixed_id = source.text, False
            else:
                raise TypeError(f"expected PolicySource or ToolThreshold, got {type(source).__name__}")
            parsed, source_problems = parse_text(text, source.name)
            if tools is not None and not source_problems:
                source_problems = validate_statements(parsed, name=source.name, tools=tools, schema=schema)
            problems.extend(source_problems)
            for index, item in enumerate(parsed):
                display_id = source.name if fixed_id else statement_id(source.name, index, parsed)
                entries.append(_Entry(display_id, item.effect, item.needs_approval,
                                      item.annotations.get("reason"), item, len(entries),
                                      "" if fixed_id else source.name))
        if problems:
            raise PolicyError(problems)
        return entries

    def _group(self, actions_in_store: bool) -> tuple[dict[str, _Bucket], _Bucket | None]:
        def scope(entry: _Entry) -> frozenset[str] | None:
            parsed = entry.parsed
            return None if parsed.action_scope_in and actions_in_store else parsed.actions

        named = sorted({a for e in self._entries if scope(e) is not None for a in scope(e) or ()})
        shared: dict[tuple[int, ...], _Bucket | None] = {}

        def bucket_for(members: list[int]) -> _Bucket | None:
            key = tuple(members)
            if key not in shared:
                shared[key] = self._bucket(len(shared), [self._entries[i] for i in members]) if members else None
            return shared[key]

        buckets = {}
        for action in named:
            members = [i for i, e in enumerate(self._entries) if scope(e) is None or action in (scope(e) or ())]
            bucket = bucket_for(members)
            if bucket is not None:
                buckets[action] = bucket
        fallback = bucket_for([i for i, e in enumerate(self._entries) if scope(e) is None])
        return buckets, fallback

    @staticmethod
    def _bucket(ident: int, entries: list[_Entry]) -> _Bucket:
        policy_set = cedarpy.PolicySet.from_str("\n".join(e.parsed.statement.text for e in entries))
        reads: set[str] | None = set()
        literals: set[int] | None = set()
        for entry in entries:
            parsed = entry.parsed
            if parsed.context_reads is None or reads is None:
                reads = None
            else:
                reads |= parsed.context_reads
            if parsed.value_literals is None or literals is None:
                literals = None
            else:
                literals |= set(parsed.value_literals)
        return _Bucket(
            ident=ident,
            policy_set=policy_set,
            by_cedar_id={f"policy{i}": e for i, e in enumerate(entries)},
            reads=None if reads is None else frozenset(reads),
            literals=None if literals is None else tuple(sorted(literals)),
            uses_principal=any(e.parsed.uses_principal for e in entries),
            uses_resource=any(e.parsed.uses_resource for e in entries),
        )

    @property
    def policy_ids(self) -> list[str]:
        """The user-visible id of every loaded statement, in load order (thresholds once per statement)."""
        return [e.display_id for e in self._entries]

    @property
    def policy_names(self) -> dict[str, str]:
        """The name of the policy (`PolicySource`) each statement's id belongs to; thresholds are left out."""
        return {e.display_id: e.source for e in self._entries if e.source}

    # -- DecisionBackend --------------------------------------------------------------------------

    def evaluate(self, action: ActionRequest) -> Decision:
        try:
            cents = to_cents(action.value)
        except ValueError as exc:
            return Decision(outcome="blocked", reason=f"{action.tool} is blocked: {exc}",
                            request_id=new_request_id(), backend=self.name, raw={"invalid_value": repr(action.value)})
        return self._decision(self._verdict(action, cents), action)

    def outcome(self, action: ActionRequest) -> tuple[str, tuple[str, ...]]:
        """The outcome `evaluate` gives `action`, and the ids of the statements Cedar matched, without making
        its reason and request id (a replay decides many thousands of calls and reads only these). Raises
        `ValueError` for a value that is not a number (`evaluate` blocks it) and `DecisionBackendError`."""
        verdict = self._verdict(action, to_cents(action.value))
        return self._resolved(verdict, action)[0], verdict.matched_ids

    def reads_arguments(self, action_name: str) -> bool:
        """Whether a statement that can match `action_name` reads `context.arguments` (else a call's
        arguments cannot change its outcome, and a caller may leave them out)."""
        bucket = self._buckets.get(action_name, self._fallback)
        return bucket is not None and bucket.reads_attr("arguments")

    def _verdict(self, action: ActionRequest, cents: int | None) -> _Verdict:
        bucket = self._buckets.get(action.action_name, self._fallback)
        if bucket is None:
            return _NOTHING_MATCHES
        key = self._key(bucket, action, cents)
        verdict = self._memo.get(key) if key is not None else None
        if verdict is None:
            verdict = self._authorize(bucket, action, cents)
            if key is not None:
                self._remember(key, verdict)
        return verdict

    def resolve_approval(self, decision: Decision, *, resolution: Resolution, comment: str = "") -> dict[str, Any]:
        """Nothing to tell anyone: the dashboard records the resolution itself."""
        return {"status": resolution, "request_id": decision.request_id, "comment": comment}

    def report_outcome(self, action: ActionRequest, decision: Decision, *, status: str, output: Any) -> None:
        return None  # the embedded engine keeps no remote record; the dashboard's audit history does

    def ingest_memory(self, events: list[dict[str, Any]], *, source: str, timeout_seconds: float) -> None:
        return None

    # -- internals --------------------------------------------------------------------------------

    def _key(self, bucket: _Bucket, action: ActionRequest, cents: int | None) -> tuple[Any, ...] | None:
        if not self._cache_size:
            return None
        key: list[Any] = [bucket.ident, action.action_name]
        reads = bucket.reads
        if bucket.uses_principal or reads is None or "actor" in reads:
            key.append(action.actor)
        if bucket.uses_resource or reads is None or "domain" in reads:
            key.append(action.domain)
        if reads is None or "tool" in reads:
            key.append(action.tool)
        if reads is None or "target" in reads:
            key.append(action.target)
        if reads is None or "value_cents" in reads:
            literals = bucket.literals
            if cents is None or literals is None:
                key.append(cents)
            else:  # the interval between the literals value_cents is compared with: Cedar cannot tell more
                at = bisect.bisect_left(literals, cents)
                key.append((at, at < len(literals) and literals[at] == cents))
        if reads is None or "arguments" in reads:
            try:
                key.append(_JSON_SORTED.encode(cedar_record(action.arguments)))
            except (TypeError, ValueError):
                return None
        return tuple(key)

    def _remember(self, key: tuple[Any, ...], verdict: _Verdict) -> None:
        with self._memo_lock:
            if len(self._memo) >= self._cache_size:
                self._memo.pop(next(iter(self._memo)), None)  # oldest first
            self._memo[key] = verdict

    def _context(self, bucket: _Bucket, action: ActionRequest, cents: int | None) -> str | None:
        context: dict[str, Any] = {}
        if bucket.reads_attr("tool"):
            context["tool"] = action.tool
        if bucket.reads_attr("actor"):
            context["actor"] = action.actor
        if bucket.reads_attr("domain"):
            context["domain"] = action.domain
        if cents is not None and bucket.reads_attr("value_cents"):
            context["value_cents"] = cents
        if action.target is not None and bucket.reads_attr("target"):
            context["target"] = str(action.target)
        if bucket.reads_attr("arguments"):
            context["arguments"] = cedar_record(action.arguments)
        return _JSON.encode(context) if context else None  # no context at all is cheaper for Cedar than {}

    def _authorize(self, bucket: _Bucket, action: ActionRequest, cents: int | None) -> _Verdict:
        # Entity uids as {type, id}: cheaper for Cedar than parsing `Agent::"..."`, and any id is safe.
        request: dict[str, Any] = {
            "principal": {"type": "Agent", "id": str(action.actor)},
            "action": {"type": "Action", "id": action.action_name},
            "resource": {"type": "Domain", "id": str(action.domain)},
        }
        context = self._context(bucket, action, cents)
        if context is not None:
            request["context"] = context
        try:
            result = cedarpy.is_authorized(request, bucket.policy_set, self._entities)
        except Exception as exc:  # cedarpy raises ValueError/RuntimeError for a request it cannot build
            raise DecisionBackendError(f"the embedded policy engine could not evaluate {action.tool}: {exc}") from exc
        by_id = bucket.by_cedar_id
        matched = sorted((by_id[r] for r in result.diagnostics.reasons if r in by_id), key=lambda e: e.order)
        errors = tuple(result.diagnostics.errors)
        failed = [(by_id.get(runtime_error_policy(e) or ""), runtime_error_message(e)) for e in errors]
        if any(entry is None for entry, _ in failed):
            raise DecisionBackendError(f"the embedded policy engine could not evaluate {action.tool}: {errors[0]}")
        matched_ids = tuple(e.display_id for e in matched)
        cedar = result.decision.value
        forbids = [(e, None) for e in matched if e.effect == "forbid"]
        failed_forbids = [(e, m) for e, m in failed if e is not None and e.effect == "forbid"]
        failed_approvals = [(e, m) for e, m in failed if e is not None and e.needs_approval]
        if not result.allowed and forbids:
            return _Verdict("blocked", tuple(forbids), cedar, matched_ids, errors)
        if failed_forbids:
            return _Verdict("blocked", tuple(failed_forbids), cedar, matched_ids, errors)
        if result.allowed:
            approvals = [(e, None) for e in matched if e.needs_approval] + failed_approvals
            if approvals:
                return _Verdict("requires_approval", tuple(approvals), cedar, matched_ids, errors)
            return _Verdict("allowed", tuple((e, None) for e in matched), cedar, matched_ids, errors)
        return _Verdict(None, tuple(failed_approvals), cedar, (), errors)

    def _resolved(self, verdict: _Verdict, action: ActionRequest) -> tuple[str, tuple[tuple[_Entry, str | None], ...]]:
        """The verdict's outcome for this call, and the statements that determined it."""
        outcome = verdict.outcome
        determining = verdict.determining
        if outcome is None:  # nothing matched: the domain default, resolved per call (the memo key may omit it)
            outcome = self.domain_defaults.get(action.domain, self.default_outcome)
            if outcome == "allowed" and determining:
                outcome = "requires_approval"  # an approval permit failed to evaluate: ask, do not allow
            else:
                determining = ()
        return outcome, determining

    def _decision(self, verdict: _Verdict, action: ActionRequest) -> Decision:
        outcome, determining = self._resolved(verdict, action)
        if determining:
            parts: list[str] = []
            ids: list[str] = []
            for entry, error in determining:
                if error is None:
                    part = entry.explain(action.value)
                else:
                    part = (f"policy {entry.display_id} could not be evaluated ({error}), "
                            f"so it counts as matching (fail closed)")
                if part not in parts:
                    parts.append(part)
                if entry.display_id not in ids:
                    ids.append(entry.display_id)
            reason = f"{action.tool} {_VERBS[outcome]}: {'; '.join(parts)}"
            policy_ids = tuple(ids)
        else:
            reason = (f"no policy matches {action.tool} in domain {action.domain!r}; "
                      f"the domain default is {_DEFAULT_WORDS[outcome]}")
            policy_ids = (f"default:{action.domain}",)
        raw: dict[str, Any] = {"engine": "cedar", "cedar_decision": verdict.cedar_decision,
                               "matched": list(verdict.matched_ids)}
        if verdict.errors:
            raw["errors"] = list(verdict.errors)
        return Decision(outcome=outcome, reason=reason, request_id=new_request_id(),  # type: ignore[arg-type]
                        policy_ids=policy_ids, backend=self.name, raw=raw)


_NOTHING_MATCHES = _Verdict(None, (), None, (), ())


class AsyncEmbeddedPolicyEngine:
    """The same engine for `AsyncGuardedOpenAI`: evaluation is CPU-only and fast, so it runs inline."""

    name = "embedded"

    def __init__(self, policies: Iterable[PolicySource | ToolThreshold] | None = None, **options: Any) -> None:
        self.engine = EmbeddedPolicyEngine(policies, **options)

    @classmethod
    def from_engine(cls, engine: EmbeddedPolicyEngine) -> AsyncEmbeddedPolicyEngine:
        """Share an already-built engine (and its memo) with async callers."""
        wrapper = cls.__new__(cls)
        wrapper.engine = engine
        return wrapper

    @property
    def policy_ids(self) -> list[str]:
        return self.engine.policy_ids

    async def evaluate(self, action: ActionRequest) -> Decision:
        return self.engine.evaluate(action)

    async def resolve_approval(
        self, decision: Decision, *, resolution: Resolution, comment: str = ""
    ) -> dict[str, Any]:
        return self.engine.resolve_approval(decision, resolution=resolution, comment=comment)

    async def report_outcome(self, action: ActionRequest, decision: Decision, *, status: str, output: Any) -> None:
        return None

    async def ingest_memory(self, events: list[dict[str, Any]], *, source: str, timeout_seconds: float) -> None:
        return None


def cedar_record(arguments: Any) -> dict[str, Any]:
    """`context.arguments`: the tool arguments as a Cedar record (see `cedar_arguments`)."""
    return cedar_arguments(arguments) if isinstance(arguments, Mapping) else {}


def cedar_arguments(value: Any) -> Any:
    """Tool arguments as a Cedar record: Cedar has no null and no floating point, and its Longs are 64-bit.

    Nulls, fractional numbers and out-of-range integers are left out (compare amounts with
    `context.value_cents`); a float with no fraction (100.0) is sent as the integer it is; keys that
    Cedar's JSON reads as escapes (`__entity`, `__extn`, `__expr`) are dropped so arguments cannot
    smuggle in entity references.
    """
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if isinstance(key, str) and key.startswith("__"):
                continue
            converted = cedar_arguments(item)
            if converted is not _DROP:
                out[str(key)] = converted
        return out
    if isinstance(value, (list, tuple)):
        return [c for c in (cedar_arguments(v) for v in value) if c is not _DROP]
    if value is None or isinstance(value, (bool, str)):
        return _DROP if value is None else value
    if isinstance(value, int):
        return value if -CEDAR_LONG_MAX <= value <= CEDAR_LONG_MAX else _DROP
    if isinstance(value, float):
        if value.is_integer() and abs(value) <= 2**53:
            return int(value)
        return _DROP
    return str(value)


_DROP: Any = object()
