"""`python -m governance.demo`: a governed run in the terminal, printing each adapter event.

Uses the demo tools and policies (refund needs approval above 100 and is blocked above 10,000;
lookup is always allowed; delete is always blocked) and, with no OpenAI key, the offline demo
model. The approval is granted by a callback standing in for a reviewer.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

from governance import demo_tools
from governance.guard import GuardedOpenAI
from governance.policy import demo_policies

PROMPTS = (
    "Look up order ord_100 please",
    "Refund order ord_123 for 40",
    "Refund order ord_777 for 250",
    "Delete customer cus_42",
)


def build_guard(**options: Any) -> GuardedOpenAI:
    guard = GuardedOpenAI(actor="AI_AGENT_001", domain="customer_transactions", policies=demo_policies(), **options)
    guard.tool("refund_payment", demo_tools.refund_payment, value_from_args=lambda a: a["amount"],
               target_from_args=lambda a: a["order_id"])
    guard.tool("lookup_order", demo_tools.lookup_order, target_from_args=lambda a: a["order_id"])
    guard.tool("delete_customer", demo_tools.delete_customer, target_from_args=lambda a: a["customer_id"])
    return guard


def _print_event(event: dict[str, Any]) -> None:
    kind = event["type"]
    if kind == "llm_delta":
        print(event["delta"], end="", flush=True)
    elif kind == "execution_event":
        e = event["event"]
        print(f"\n  [{e['status']}] {e['tool']}({json.dumps(e['arguments'])}) - {e['reason']}", flush=True)
    elif kind == "final_response":
        print(f"\n  -> run {event['response']['execution']['status']}", flush=True)


def reviewer(ctx: dict[str, Any]) -> dict[str, str]:
    print(f"\n  reviewer sees: {ctx['tool']} {json.dumps(ctx['arguments'])} ({ctx['reason']}) -> approves")
    return {"resolution": "approved", "comment": "approved by the on-call reviewer (demo)"}


def main() -> int:
    logging.basicConfig(level=logging.WARNING)
    guard = build_guard()
    print("Governed runs against the offline demo model (no OpenAI key needed).\n")
    executed: list[str] = []  # the tools that ran, as the runner reported them
    for prompt in PROMPTS:
        print(f"user> {prompt}\nagent> ", end="")
        for event in guard.run_stream(messages=[{"role": "user", "content": prompt}], model="gpt-4.1"):
            _print_event(event)
            if event["type"] == "execution_event" and event["event"]["status"] == "executed":
                executed.append(event["event"]["tool"])
        print()
    prompt = "Refund order ord_900 for 500"
    print(f"user> {prompt}   (run_with_approval)")
    result = guard.run_with_approval(
        messages=[{"role": "user", "content": prompt}], model="gpt-4.1", on_approval_required=reviewer
    )
    for e in result["execution"]["events"]:
        print(f"  [{e['status']}] {e['tool']} - {e['reason']}")
        if e["status"] == "executed":
            executed.append(e["tool"])
    print(f"agent> {result['output_text']}\n")
    print(f"Tool executions: {len(executed)} ({', '.join(executed)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
