"""Where the embedded engine's policies come from: Cedar text, and value thresholds without Cedar.

`PolicySource(name, text)` is Cedar written by an admin. `ToolThreshold(tool, approve_above=...,
block_above=...)` is compiled into Cedar here, so a per-tool "approve above X, block above Y"
needs no Cedar at all. Values are compared in whole cents (`context.value_cents`): Cedar has no
floating point, and cents make 100.00 vs 100.01 exact.
"""

from __future__ import annotations

from dataclasses import dataclass


def to_cents(value: float) -> int:
    return round(float(value) * 100)


def format_amount(cents: int) -> str:
    text = f"{cents / 100:,.2f}"
    return text[:-3] if text.endswith(".00") else text


@dataclass(frozen=True)
class PolicySource:
    """Cedar policies under one name (the admin's Policy row, or a file)."""

    name: str
    text: str


@dataclass(frozen=True)
class ToolThreshold:
    """Approve above `approve_above`, block above `block_above`, allow otherwise."""

    tool: str
    approve_above: float | None = None
    block_above: float | None = None

    @property
    def name(self) -> str:
        return f"{self.tool}-threshold"

    def to_cedar(self) -> str:
        action = f'action == Action::"{self.tool}"'
        parts = []
        if self.block_above is not None:
            cents = to_cents(self.block_above)
            parts.append(
                f'@id("block")\n@reason("value {{value}} is above {format_amount(cents)}")\n'
                f"forbid(principal, {action}, resource)\n"
                f"  when {{ context has value_cents && context.value_cents > {cents} }};"
            )
        if self.approve_above is not None:
            cents = to_cents(self.approve_above)
            parts.append(
                f'@id("approve")\n@approval("required")\n'
                f'@reason("value {{value}} is above {format_amount(cents)}")\n'
                f"permit(principal, {action}, resource)\n"
                f"  when {{ !(context has value_cents) || context.value_cents > {cents} }};"
            )
            parts.append(
                f'@id("allow")\n@reason("value {{value}} is at most {format_amount(cents)}")\n'
                f"permit(principal, {action}, resource)\n"
                f"  when {{ context has value_cents && context.value_cents <= {cents} }};"
            )
        else:
            parts.append(f'@id("allow")\npermit(principal, {action}, resource);')
        return "\n".join(parts)


DEMO_CEDAR = """\
@id("lookups")
@reason("read-only lookups are always allowed")
permit(principal, action == Action::"lookup_order", resource);

@id("no-deletes")
@reason("deleting customers is never done by an agent")
forbid(principal, action == Action::"delete_customer", resource);
"""


def demo_policies() -> list[PolicySource | ToolThreshold]:
    """The demo set: refund needs approval above 100 and is blocked above 10,000; lookups allowed;
    deletes blocked; anything else falls to the domain default (blocked)."""
    return [
        ToolThreshold("refund_payment", approve_above=100, block_above=10_000),
        PolicySource("demo", DEMO_CEDAR),
    ]
