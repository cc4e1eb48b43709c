"""Scaling: end-to-end throughput with 1 and with 2 instances of each service (consumer groups share
the 3 partitions of each topic; one outbox relay per database holds its advisory lock; the timer
loops split due timers with SKIP LOCKED). How firing time grows with 10k / 100k / 1M pending
deadlines is measured by bench/deadlines.py, size by size, and shown in the same table.
"""

from __future__ import annotations

from typing import Any

from bench import e2e_throughput
from bench.harness import Servers, Sizes


async def run(sizes: Sizes, servers: Servers) -> dict[str, Any]:
    runs = [await e2e_throughput.measure(servers, sizes, sizes.scaling_orders, instances=n) for n in (1, 2)]
    for r in runs:
        r.pop("timeline")
    return {"orders": sizes.scaling_orders, "by_instances": runs, "speedup": round(runs[1]["orders_per_s"] / runs[0]["orders_per_s"], 2)}


def rows(f: dict[str, Any]) -> list[tuple[str, str, str, bool | None]]:
    one, two = f["by_instances"]
    return [(
        f"Scaling, {f['orders']:,} orders: 1 -> 2 instances each",
        f"{one['orders_per_s']:,.0f} -> {two['orders_per_s']:,.0f} orders/s ({f['speedup']}x)",
        "-",
        None,
    )]
