"""Benchmark: what governance adds to each tool call, with the embedded Cedar engine.

Two figures, each over many calls, printed as median / p95 / p99:

1. policy evaluation alone: `EmbeddedPolicyEngine.evaluate(action)` (policies parsed once).
2. added time per governed call: the runner's whole handling of one tool call (argument parsing
   and schema validation, the decision, the execution event record and the output item fed back
   to the model) minus the same tool called bare. Measured by driving the real loop
   (`governance.guard.loop.drive`) with a canned model response of one function call per turn,
   so model latency is left out on purpose: it is not governance's cost.

Run: `.venv/bin/python bench/governance_overhead.py [--calls 5000]`. Goals (issue 2): evaluation
median <= 50 us; added time per call median <= 1 ms and p99 <= 5 ms.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from typing import Any

from governance import demo_tools
from governance.decisions import ActionRequest
from governance.guard import GuardedOpenAI
from governance.guard.loop import CallModel, Decide, Emit, IngestMemory, Invoke, ReportOutcome, drive
from governance.policy import EmbeddedPolicyEngine, demo_policies


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def summary(name: str, samples_s: list[float]) -> dict[str, Any]:
    us = [s * 1e6 for s in samples_s]
    row = {"name": name, "n": len(us), "median_us": statistics.median(us), "p95_us": percentile(us, 95),
           "p99_us": percentile(us, 99)}
    print(f"{name:<44} n={row['n']:>6}  median {row['median_us']:8.1f} us  p95 {row['p95_us']:8.1f} us  "
          f"p99 {row['p99_us']:8.1f} us")
    return row


def _actions(calls: int, distinct: bool) -> list[ActionRequest]:
    def value(i: int) -> float:
        return round(0.01 * (i + 1), 2) if distinct else 42.0  # distinct: every request a cache miss

    return [
        ActionRequest(tool="refund_payment", arguments={"order_id": f"ord_{i}", "amount": value(i)},
                      actor="AI_AGENT", domain="customer_transactions", value=value(i), target=f"ord_{i}")
        for i in range(calls)
    ]


def bench_evaluation(calls: int, *, distinct: bool, memo: bool = True) -> list[float]:
    # Policies parsed once, here. memo=False sends every request to Cedar.
    engine = EmbeddedPolicyEngine(demo_policies(), cache_size=4096 if memo else 0)
    for action in _actions(200, distinct=False):  # warm-up on another value
        engine.evaluate(action)
    samples = []
    for action in _actions(calls, distinct=distinct):
        start = time.perf_counter()
        engine.evaluate(action)
        samples.append(time.perf_counter() - start)
    return samples


def _turn(i: int, calls: bool) -> dict[str, Any]:
    if not calls:
        return {"id": f"resp_final_{i}", "output": [{"type": "message", "role": "assistant", "content": [
            {"type": "output_text", "text": "done", "annotations": []}]}], "output_text": "done"}
    arguments = json.dumps({"order_id": f"ord_{i}", "amount": round(0.01 * i, 2)})
    return {"id": f"resp_{i}", "output_text": "", "output": [
        {"type": "function_call", "id": f"fc_{i}", "call_id": f"call_{i}", "name": "refund_payment",
         "arguments": arguments, "status": "completed"}]}  # amounts vary: decisions are mostly cache misses


def bench_governed_calls(calls: int) -> tuple[list[float], list[float]]:
    """Per-call time of the loop's handling of one call, and of the bare tool call.

    Each sample is one short run (a user message, one function call, a final answer), timed from
    the model's function-call response reaching the loop to the loop asking for the next turn:
    argument parsing and validation, the decision, the tool, the event record, the output item and
    building the next request.
    """
    guard = GuardedOpenAI(openai_client=object(), policies=demo_policies(), domain="customer_transactions",
                          memory_enabled=False)
    guard.tool("refund_payment", demo_tools.refund_payment, value_from_args=lambda a: a["amount"])
    spec = guard.registry.get("refund_payment")
    backend = guard.backend
    config = guard._loop_config()
    governed: list[float] = []
    for i in range(calls):
        state = guard.start(messages=[{"role": "user", "content": "bench"}], model="bench")
        loop = drive(state, config)
        turn, answer, started = 0, None, None
        while True:
            try:
                effect = loop.send(answer)
            except StopIteration:
                break
            if isinstance(effect, CallModel):
                if started is not None:
                    governed.append(time.perf_counter() - started)
                turn += 1
                answer = _turn(i, calls=turn == 1)
                started = time.perf_counter()
            elif isinstance(effect, Decide):
                answer = backend.evaluate(effect.action)
            elif isinstance(effect, Invoke):
                answer = spec.invoke(effect.arguments)
            elif isinstance(effect, Emit | ReportOutcome | IngestMemory):
                answer = None
    bare = []
    for i in range(calls):
        start = time.perf_counter()
        demo_tools.refund_payment(order_id=f"ord_{i}", amount=round(0.01 * i, 2))
        bare.append(time.perf_counter() - start)
    return governed, bare


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5000)
    args = parser.parse_args()
    print(f"machine: {platform.machine()} {platform.processor() or ''} python {platform.python_version()}, "
          f"{__import__('os').cpu_count()} cores; {time.strftime('%Y-%m-%d')}")
    cold = summary("evaluation, memo off (Cedar every call)", bench_evaluation(args.calls, distinct=True, memo=False))
    evaluation = summary("evaluation, distinct values, memo on", bench_evaluation(args.calls, distinct=True))
    summary("evaluation, repeated request, memo on", bench_evaluation(args.calls, distinct=False))
    governed, bare = bench_governed_calls(args.calls)
    summary("governed call handling (loop, incl. tool)", governed)
    summary("bare tool call", bare)
    bare_median = statistics.median(bare)
    added = summary("added per call (governed - bare median)", [g - bare_median for g in governed])
    goals = [
        ("policy evaluation median <= 50 us (as shipped: memo on, distinct values)", evaluation["median_us"] <= 50),
        ("policy evaluation median <= 50 us (memo off: Cedar on every call)", cold["median_us"] <= 50),
        ("added time per call median <= 1 ms", added["median_us"] <= 1000),
        ("added time per call p99 <= 5 ms", added["p99_us"] <= 5000),
    ]
    for goal, met in goals:
        print(f"{'met    ' if met else 'NOT MET'}  {goal}")


if __name__ == "__main__":
    main()
