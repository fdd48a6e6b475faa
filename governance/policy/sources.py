"""Where the embedded engine's policies come from: Cedar text, and value thresholds without Cedar.

`PolicySource(name, text)` is Cedar written by an admin (a Policy row, or a file). `ToolThreshold(tool,
approve_above=..., block_above=...)` is compiled into Cedar here, so "approve above X, block above Y"
for one tool needs no Cedar at all.

Money in Cedar. Cedar has no floating point, so the call's value travels as whole cents in
`context.value_cents` (a Cedar Long): 100.01 is 10001 and 10,000 is 1000000, and every comparison is
exact integer arithmetic. A value with more than two decimals is rounded *up* to the next cent (after
dropping binary float noise below 1e-6 cent), so a value just above a threshold never reads as the
threshold itself: 100.004 counts as 100.01, above 100. A threshold is rounded down to a whole cent,
which keeps "value > threshold" exact for every value in cents.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

CEDAR_LONG_MAX = 2**63 - 1
_HUNDRED = Decimal(100)
_NOISE = Decimal("0.000001")


def to_cents(value: Any) -> int | None:
    """The call's value in whole cents for `context.value_cents`; None when there is no value.

    Rounds up to the next cent (see the module doc) and clamps to Cedar's Long range. Raises
    `ValueError` for a value that is not a finite number (booleans included).
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"value {value!r} is not a number")
    if isinstance(value, int):
        return _clamp(value * 100)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"value {value!r} is not a finite number")
        scaled = value * 100
        nearest = round(scaled)
        if abs(scaled - nearest) < 1e-6:  # the common case: an amount in whole cents
            return _clamp(nearest)
        amount = Decimal(repr(value))
    else:
        try:
            amount = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError(f"value {value!r} is not a number") from None
        if not amount.is_finite():
            raise ValueError(f"value {value!r} is not a finite number")
    cents = (amount * _HUNDRED).quantize(_NOISE, rounding=ROUND_HALF_EVEN).to_integral_value(rounding=ROUND_CEILING)
    return _clamp(int(cents))


def threshold_cents(threshold: Any) -> int:
    """A threshold in whole cents, rounded down: `value_cents > threshold_cents(t)` iff value > t (in cents)."""
    try:
        amount = Decimal(str(threshold).strip())
    except InvalidOperation:
        raise ValueError(f"threshold {threshold!r} is not a number") from None
    if isinstance(threshold, bool) or not amount.is_finite():
        raise ValueError(f"threshold {threshold!r} is not a finite number")
    return _clamp(int((amount * _HUNDRED).to_integral_value(rounding=ROUND_FLOOR)))


def _clamp(cents: int) -> int:
    return max(-CEDAR_LONG_MAX, min(CEDAR_LONG_MAX, cents))


def format_value(value: Any) -> str:
    """A call's value as reviewers read it: 150.00, 12,000.00; more decimals only when the value has them."""
    if isinstance(value, float) and math.isfinite(value):
        if abs(value) >= 1e15:
            return f"{value:g}"
        if abs(value * 100 - round(value * 100)) < 1e-6:
            return f"{value:,.2f}"
    try:
        amount = Decimal(repr(value) if isinstance(value, float) else str(value))
    except InvalidOperation:
        return str(value)
    if not amount.is_finite():
        return str(value)
    if amount == amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN):
        return f"{amount:,.2f}"
    return f"{amount.normalize():,f}"


def format_threshold(threshold: Any) -> str:
    """A threshold as the admin wrote it: 100, 10,000, 99.50."""
    amount = Decimal(str(threshold))
    if amount == amount.to_integral_value():
        return f"{int(amount):,}"
    return f"{amount:,.2f}"


@dataclass(frozen=True)
class PolicySource:
    """Cedar policies under one user-visible name (the admin's Policy row, or a file).

    Decisions name a matching statement `<name>/<@id>` when it has an `@id("...")` annotation, `<name>`
    when the source holds a single statement, and `<name>#<n>` (1-based) otherwise.
    """

    name: str
    text: str


@dataclass(frozen=True)
class ToolThreshold:
    """Per-tool value thresholds without writing Cedar.

    Allowed up to `approve_above`, requires approval above it, blocked above `block_above` (both
    optional; the comparison is strictly "above"). A call that carries no value cannot be checked, so
    it requires approval whenever a threshold is set. With neither threshold the tool is allowed.
    Decisions name every statement compiled from it by `name` (default `<tool>-threshold`).
    """

    tool: str
    approve_above: float | int | Decimal | None = None
    block_above: float | int | Decimal | None = None
    name: str = ""

    def __post_init__(self) -> None:
        if not self.tool:
            raise ValueError("a ToolThreshold needs a tool name")
        for label, amount in (("approve_above", self.approve_above), ("block_above", self.block_above)):
            if amount is not None:
                try:
                    threshold_cents(amount)
                except ValueError as exc:
                    raise ValueError(f"ToolThreshold({self.tool!r}): {label}: {exc}") from None
        if not self.name:
            object.__setattr__(self, "name", f"{self.tool}-threshold")

    def to_cedar(self) -> str:
        """The Cedar statements this threshold stands for (ids: block, approve, approve-no-value, allow)."""
        action = f"action == Action::{_cedar_string(self.tool)}"
        has = "context has value_cents"
        parts = []
        if self.block_above is not None:
            cents, shown = threshold_cents(self.block_above), format_threshold(self.block_above)
            parts.append(
                f'@id("block")\n@reason("value {{value}} is above {shown}")\n'
                f"forbid(principal, {action}, resource)\n  when {{ {has} && context.value_cents > {cents} }};"
            )
        if self.approve_above is not None or self.block_above is not None:
            parts.append(
                '@id("approve-no-value")\n@approval("required")\n'
                '@reason("the call has no value to check against the thresholds")\n'
                f"permit(principal, {action}, resource)\n  when {{ !({has}) }};"
            )
        if self.approve_above is not None:
            cents, shown = threshold_cents(self.approve_above), format_threshold(self.approve_above)
            parts.append(
                f'@id("approve")\n@approval("required")\n@reason("value {{value}} is above {shown}")\n'
                f"permit(principal, {action}, resource)\n  when {{ {has} && context.value_cents > {cents} }};"
            )
            parts.append(
                f'@id("allow")\n@reason("value {{value}} is at most {shown}")\n'
                f"permit(principal, {action}, resource)\n  when {{ {has} && context.value_cents <= {cents} }};"
            )
        elif self.block_above is not None:
            shown = format_threshold(self.block_above)
            parts.append(
                f'@id("allow")\n@reason("value {{value}} is at most {shown}")\n'
                f"permit(principal, {action}, resource)\n  when {{ {has} }};"
            )
        else:
            parts.append(f'@id("allow")\n@reason("no threshold is set")\npermit(principal, {action}, resource);')
        return "\n\n".join(parts) + "\n"


def _cedar_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


DEMO_CEDAR = """\
@id("lookups")
@reason("read-only lookups are always allowed")
permit(principal, action == Action::"lookup_order", resource);

@id("no-deletes")
@reason("deleting customers is never done by an agent")
forbid(principal, action == Action::"delete_customer", resource);
"""

DEMO_DOMAIN = "customer_transactions"


def demo_policies() -> list[PolicySource | ToolThreshold]:
    """The demo set for domain `customer_transactions`: refund_payment needs approval above 100 and is
    blocked above 10,000; lookup_order is always allowed; delete_customer is always blocked; anything
    else falls to the domain default (blocked: fail closed)."""
    return [
        ToolThreshold("refund_payment", approve_above=100, block_above=10_000),
        PolicySource("demo", DEMO_CEDAR),
    ]
