"""The BIGHUB-compatible HTTP API under /bighub/ (django-ninja): the doors, kept thin.

Each endpoint validates its body with a schema (`agents.schemas`), then calls one service
(`agents.evaluate`, `agents.reports`, `agents.approval_items`, `agents.rules`), POSTs that record something
through `agents.idempotency`;
a long-poll of a pending approval request answers when it is resolved (`agents.approval_wait`).
Every request passes, in order: the API key (401), the key's rate limit (429), the body size (413),
JSON and field validation (400/422), the key's actor and domains (403), the Idempotency-Key (409);
then an approval request the key may not see is one that does not exist (404). Each refusal answers
`{"detail": ...}` (a list of `{loc, msg, type}` for 422, as FastAPI and BIGHUB answer) and is
recorded in the audit history (`agents.refusals`); nothing else changes. docs/api.md describes it.
"""

from __future__ import annotations

import json
import math
from typing import Any, Literal

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from ninja import Header, NinjaAPI, Query, Swagger
from ninja import Path as PathParam
from ninja.errors import HttpError, Throttled, ValidationError
from ninja.parser import Parser
from ninja.security import APIKeyHeader

from approvals.models import ApprovalStatus

from . import approval_items, idempotency, keys, refusals, rules
from .approval_wait import answer_when_resolved
from .evaluate import CallRejected, evaluate_calls, remote_call
from .ratelimit import PerKeyRateLimit
from .reports import ingest_memory, report_outcome
from .schemas import (
    ApprovalItem,
    BatchIn,
    Error,
    EvaluateAnswer,
    EvaluateIn,
    MemoryAnswer,
    MemoryIn,
    OutcomeAnswer,
    OutcomeIn,
    ResolveIn,
    RuleDryRunAnswer,
    RuleDryRunIn,
    RuleValidateAnswer,
    RuleValidateIn,
    ValidationErrors,
)

MAX_APPROVALS_LISTED = 100
REQUEST_ID = "The request_id of a requires_approval answer (the approval request's id)."
REFUSALS = {400: Error, 401: Error, 403: Error, 409: Error, 413: Error, 422: ValidationErrors, 429: Error}
IDEMPOTENCY_KEY = Header(None, alias="Idempotency-Key", min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$",
                         description="Same key and same body: the same answer, recorded once; another body: 409.")


class KeyRefusedError(Exception):
    def __init__(self, refused: keys.KeyRefused) -> None:
        super().__init__(refused.reason)
        self.refused = refused


class AgentKeyAuth(APIKeyHeader):
    """`X-API-Key: gd_live_...`, as the `bighub` SDK sends it."""

    param_name = "X-API-Key"

    def authenticate(self, request, key: str | None):
        result = keys.authenticate(key)
        if isinstance(result, keys.KeyRefused):
            raise KeyRefusedError(result)
        return result


class StrictJSONParser(Parser):
    """JSON as RFC 8259 defines it: Python's parser also takes NaN and Infinity, which are not JSON; and
    no NUL character or lone surrogate in a string, which the databases cannot store."""

    def parse_body(self, request) -> Any:
        data = json.loads(request.body, parse_constant=_not_json)
        _check_strings(data)
        return data


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON value")


def _check_strings(data: Any) -> None:
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, str):
            if "\x00" in value:
                raise ValueError("a string contains a NUL character (\\u0000)")
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError("a string contains a lone surrogate (an unpaired \\ud800-\\udfff escape)") from None


api = NinjaAPI(
    title="Governance dashboard: BIGHUB-compatible API",
    version="1",
    description="The subset of the BIGHUB control plane's API that the `bighub` SDK and the `bighub-openai` adapter "
    "use, served by the dashboard: point `BighubClient(base_url=\".../bighub\", api_key=...)` at it. See docs/api.md.",
    urls_namespace="bighub",
    auth=AgentKeyAuth(),
    throttle=PerKeyRateLimit(),
    parser=StrictJSONParser(),
    docs=Swagger(settings={"validatorUrl": None}),  # no badge fetched from validator.swagger.io
    docs_url="/docs",
    openapi_url="/openapi.json",
)


def _once(request, payload, idempotency_key: str | None, work) -> Any:
    fingerprint = idempotency.fingerprint(request.method, request.path, payload.model_dump(mode="json"))
    return idempotency.once(key=request.auth, idempotency_key=idempotency_key, fingerprint=fingerprint, work=work)


def _public_url(request) -> str:
    """The dashboard's address for links in answers: GOVERNANCE_PUBLIC_URL, else the one this request came to."""
    return settings.GOVERNANCE_PUBLIC_URL or request.build_absolute_uri("/").rstrip("/")


@api.post("/actions/evaluate", response={200: EvaluateAnswer, **REFUSALS}, summary="Decide one proposed tool call")
def evaluate(request, payload: EvaluateIn, idempotency_key: str | None = IDEMPOTENCY_KEY):
    key = request.auth
    call = remote_call(key, payload)
    return _once(request, payload, idempotency_key, lambda: evaluate_calls(
        key=key, calls=[call], dry_run=payload.dry_run, base_url=_public_url(request))[0])


@api.post("/actions/evaluate/batch", response={200: list[EvaluateAnswer], **REFUSALS},
          summary="Decide several proposed tool calls, answered in order")
def evaluate_batch(request, payload: BatchIn, idempotency_key: str | None = IDEMPOTENCY_KEY):
    key = request.auth
    calls = [remote_call(key, item, actor=payload.actor, domain=payload.domain, field=f"actions.{i}")
             for i, item in enumerate(payload.actions)]
    return _once(request, payload, idempotency_key,
                 lambda: evaluate_calls(key=key, calls=calls, base_url=_public_url(request)))


@api.get("/approvals", response={200: list[ApprovalItem], **REFUSALS},
         summary="The approval requests this key may see, newest first")
def approvals_list(
    request,
    status: Literal["pending", "approved", "denied", "rejected", "expired", "all"] = Query(
        "pending", description="pending, approved, denied (or rejected), expired, or all."),
    limit: int = Query(50, ge=1, le=MAX_APPROVALS_LISTED),
):
    return approval_items.listed(key=request.auth, status=status, limit=limit, base_url=_public_url(request))


@api.get("/approvals/{request_id}", response={200: ApprovalItem, 404: Error, **REFUSALS},
         summary="One approval request; with ?wait=SECONDS, answered as soon as a reviewer decides")
def approval_get(
    request,
    request_id: str = PathParam(..., max_length=100, examples=["1"], description=REQUEST_ID),
    wait: float = Query(0, ge=0, allow_inf_nan=False, description=(
        "Seconds to wait for a pending request's resolution before answering (at most "
        "GOVERNANCE_API_MAX_WAIT_SECONDS, 30 by default; more waits that long). The answer comes as soon as a "
        "reviewer decides (or it expires), else at the end of the wait with status `pending`.")),
):
    item = approval_items.item(approval_items.find(request.auth, request_id), base_url=_public_url(request))
    wait = min(wait, settings.GOVERNANCE_API_MAX_WAIT_SECONDS)
    if item["status"] != ApprovalStatus.PENDING or wait <= 0:
        return item
    return answer_when_resolved(item, wait=wait)


@api.post("/approvals/{request_id}/resolve", response={200: ApprovalItem, 404: Error, **REFUSALS},
          summary="Approve or deny a request (approver keys, as their dashboard user)")
def approval_resolve(request, payload: ResolveIn,
                     request_id: str = PathParam(..., max_length=100, examples=["1"], description=REQUEST_ID),
                     idempotency_key: str | None = IDEMPOTENCY_KEY):
    return _once(request, payload, idempotency_key, lambda: approval_items.resolve(
        key=request.auth, request_id=request_id, resolution=payload.resolution, comment=payload.comment or "",
        base_url=_public_url(request)))


@api.post("/outcomes/report", response={200: OutcomeAnswer, **REFUSALS},
          summary="Report what happened after a decision")
def outcomes_report(request, payload: OutcomeIn, idempotency_key: str | None = IDEMPOTENCY_KEY):
    report = payload.model_dump(mode="json", exclude_unset=True)
    return _once(request, payload, idempotency_key, lambda: report_outcome(key=request.auth, report=report))


@api.post("/actions/memory/ingest", response={200: MemoryAnswer, **REFUSALS},
          summary="Store governed execution events (each event_id once)")
def memory_ingest(request, payload: MemoryIn, idempotency_key: str | None = IDEMPOTENCY_KEY):
    events = [event.model_dump(mode="json", exclude_unset=True) for event in payload.events]
    return _once(request, payload, idempotency_key, lambda: ingest_memory(
        key=request.auth, source=payload.source, events=events, actor=payload.actor, domain=payload.domain))


@api.post("/rules/validate", response={200: RuleValidateAnswer, **REFUSALS},
          summary="Decide one call as the policy set would, recording nothing (BIGHUB's rules.validate)")
def rules_validate(request, payload: RuleValidateIn):
    return rules.validate(key=request.auth, payload=payload)


@api.post("/rules/validate/dry-run", response={200: RuleValidateAnswer, **REFUSALS},
          summary="The same as /rules/validate (BIGHUB's rules.validate_dry_run): nothing is ever recorded")
def rules_validate_dry_run(request, payload: RuleValidateIn):
    return rules.validate(key=request.auth, payload=payload)


@api.post("/rules/dry-run", response={200: RuleDryRunAnswer, **REFUSALS},
          summary="Replay a domain-wide rule over the recorded decisions, saving nothing (BIGHUB's rules.dry_run)")
def rules_dry_run(request, payload: RuleDryRunIn):
    return rules.dry_run(key=request.auth, payload=payload)


# --- refusals: each answers JSON and is recorded, see agents.refusals -----------------------------------


def _refuse(request, status: int, detail: Any, reason: str, **recorded: Any):
    refusals.record_refusal(request, status=status, reason=reason, **recorded)
    return api.create_response(request, {"detail": detail}, status=status)


def _field_error(loc: list[str | int], msg: str, type_: str) -> list[dict[str, Any]]:
    return [{"loc": loc, "msg": msg, "type": type_}]


@api.exception_handler(KeyRefusedError)
def _key_refused(request, exc: KeyRefusedError):
    return _refuse(request, 401, exc.refused.reason, exc.refused.reason, key=exc.refused.key, flood=True)


@api.exception_handler(Throttled)
def _throttled(request, exc: Throttled):
    limit = settings.GOVERNANCE_API_RATE_LIMIT_PER_MINUTE
    detail = f"rate limit reached: {limit} requests per minute for this API key"
    if exc.wait is not None:
        detail += f"; retry after {math.ceil(exc.wait)} s"
    return _refuse(request, 429, detail, f"rate limit reached: {limit} requests per minute", flood=True)


@api.exception_handler(RequestDataTooBig)
def _too_big(request, exc: RequestDataTooBig):
    detail = f"the request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes"
    return _refuse(request, 413, detail, detail)


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    detail = str(exc)
    if exc.status_code == 400 and exc.__cause__ is not None:  # ninja's "Cannot parse request body"
        detail = f"the request body is not valid JSON: {exc.__cause__}"
    return _refuse(request, exc.status_code, detail, detail)


@api.exception_handler(ValidationError)
def _invalid(request, exc: ValidationError):
    errors = []
    for error in exc.errors:
        loc = list(error["loc"])
        if loc[:2] == ["body", "payload"]:  # the body is one schema: name its fields as BIGHUB does
            loc = ["body", *loc[2:]]
        errors.append({**error, "loc": loc})
    reason = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors)
    return _refuse(request, 422, errors, f"invalid request: {reason}")


@api.exception_handler(keys.DomainRequired)
def _domain_required(request, exc: keys.DomainRequired):
    return _refuse(request, 422, _field_error(["body", "domain"], str(exc), "missing"), f"invalid request: {exc}")


@api.exception_handler(CallRejected)
def _call_rejected(request, exc: CallRejected):
    loc = ["body", *(int(p) if p.isdigit() else p for p in exc.field.split("."))]
    return _refuse(request, 422, _field_error(loc, str(exc), "value_error"), f"invalid request: {exc}")


@api.exception_handler(rules.RuleRejected)
def _rule_rejected(request, exc: rules.RuleRejected):
    return _refuse(request, 422, _field_error(["body", exc.field], str(exc), "value_error"), f"invalid request: {exc}")


@api.exception_handler(rules.DryRunRefused)
def _dry_run_refused(request, exc: rules.DryRunRefused):
    return _refuse(request, 403, str(exc), str(exc))


@api.exception_handler(keys.OutOfScope)
def _out_of_scope(request, exc: keys.OutOfScope):
    return _refuse(request, 403, str(exc), str(exc), actor=exc.actor, domain=exc.domain)


@api.exception_handler(approval_items.ApprovalNotFound)
def _approval_not_found(request, exc: approval_items.ApprovalNotFound):
    return _refuse(request, 404, str(exc), str(exc))


@api.exception_handler(approval_items.ResolveRefused)
def _resolve_refused(request, exc: approval_items.ResolveRefused):
    return _refuse(request, exc.status, str(exc), str(exc))


@api.exception_handler(idempotency.IdempotencyConflict)
def _conflict(request, exc: idempotency.IdempotencyConflict):
    return _refuse(request, 409, str(exc), str(exc))
