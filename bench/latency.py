"""Latency, placement -> acceptance, at steady offered rates: 500 orders/s (target p99 <= 100 ms) and
100 orders/s (target p99 <= 50 ms), then a search for the highest rate sustained (from 1,000/s).

Each order's latency counts from when it was due to be placed (open loop: a slow system cannot
slow the storefront down and hide its queue) to when its order.accepted is read from Kafka.
A rate is sustained when the answers keep up: the backlog (placed, not yet answered) stays under
two seconds of orders. When the offered rate is not sustained the step stops after five seconds
and the next step offers 80% of the rate the system answered at once past its first two seconds
(start-up excluded), so the report gives the latency at the
highest rate found sustainable and says so. A last step at a light 20 orders/s shows the latency of
the pipeline itself, with no queue. Each step runs on freshly started, warmed-up services.
"""

from __future__ import annotations

from typing import Any

from bench.harness import Servers, Sizes, percentiles_ms, ready_system
from devtools.loadgen import Sample, place_orders

STEPS = 3
RAMP = 2.0  # seconds of a step not counted in its answer rate
TARGETS = ((500.0, 100.0), (100.0, 50.0))  # (orders/s offered, p99 target in ms): issue 11


async def step(servers: Servers, sizes: Sizes, rate: float) -> dict[str, Any]:
    def backlogged(s: Sample) -> bool:
        return s.placed - s.answered > 2 * rate

    def give_up(s: Sample) -> bool:
        return s.seconds > 5 and backlogged(s)

    async with ready_system(servers, sizes) as (system, stream):
        result = await place_orders(
            servers.kafka_bootstrap_servers, system.prefix, stream, orders=int(rate * sizes.latency_seconds), rate=rate,
            seconds=sizes.latency_seconds, settle=10, run=system.run, give_up_when=give_up, sample_every=0.25,
        )
    sustained = result.answered_seconds is not None and not any(backlogged(s) for s in result.timeline if s.seconds <= sizes.latency_seconds)
    ramped = next((s for s in result.timeline if s.seconds >= RAMP), result.timeline[0])
    last = result.timeline[-1]
    return {
        "offered_per_s": rate,
        "sustained": sustained,
        "orders": result.placed,
        "answered_per_s": round((last.answered - ramped.answered) / max(last.seconds - ramped.seconds, 1e-9), 1),
        "latency_ms": percentiles_ms(result.latencies),
    }


async def run(sizes: Sizes, servers: Servers) -> dict[str, Any]:
    at_targets = [{**await step(servers, sizes, rate), "p99_target_ms": target} for rate, target in TARGETS]
    steps, rate = [], sizes.latency_rate
    for _ in range(STEPS):
        steps.append(await step(servers, sizes, rate))
        if steps[-1]["sustained"]:
            break
        rate = max(1.0, round(0.8 * steps[-1]["answered_per_s"]))
    return {"target_rate": sizes.latency_rate, "at_targets": at_targets, "steps": steps, "reported": steps[-1]}


def rows(f: dict[str, Any]) -> list[tuple[str, str, str, bool | None]]:
    table: list[tuple[str, str, str, bool | None]] = []
    for t in f["at_targets"]:
        p = t["latency_ms"]
        at = f"{t['offered_per_s']:,.0f} orders/s" + ("" if t["sustained"] else " (not sustained)")
        met = t["sustained"] and p["p99"] is not None and p["p99"] <= t["p99_target_ms"]
        table.append((f"Latency placement -> acceptance at {at}", f"p50 {p['p50']} / p95 {p['p95']} / p99 {p['p99']} ms", f"p99 <= {t['p99_target_ms']:.0f} ms", met))
    r = f["reported"]
    p = r["latency_ms"]
    at = f"{r['offered_per_s']:,.0f} orders/s" + ("" if r["sustained"] else " (not sustained)")
    if r["offered_per_s"] < f["target_rate"]:
        at += f"; {f['target_rate']:,.0f}/s was not"
    table.append((f"  highest rate sustained: {at}", f"p50 {p['p50']} / p95 {p['p95']} / p99 {p['p99']} ms", "-", None))
    return table
