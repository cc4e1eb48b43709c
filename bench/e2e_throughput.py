"""End-to-end throughput and memory: orders placed flat out, until every one is answered and every
accepted order's two deadlines are stored, all durable (outboxes, inboxes, acks=all).

Broker, PostgreSQL, the three services (one process each) and the load generator share the machine.
The catalogue is written straight into the inventory database and a few warm-up orders go through
first (set-up, not measured); every order then takes the real path: orders.commands -> orders ->
inventory -> orders -> deadlines.
Figures: orders/s from the first placement to the last deadline stored; the peak RSS (VmHWM) and
CPU per order of each service process, and of the broker and the database server when they run on
this machine; how busy the machine's cores were. The CPU per order says what limits the figure.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from bench.harness import MachineBusy, Servers, Sizes, ready_system
from devtools.loadgen import LoadResult, place_orders
from devtools.procfs import cpu_seconds, listening_pid, peak_rss_mb, tree_cpu_seconds
from devtools.system import PrivateSystem
from shared.contracts.topics import SERVICES


def _servers_cpu(servers: Servers) -> dict[str, float | None]:
    """CPU seconds so far of the local broker and database server (None when they are elsewhere)."""
    kafka = listening_pid(int(servers.kafka_bootstrap_servers.split(",")[0].rsplit(":", 1)[1]))
    postgres = listening_pid(urlsplit(servers.postgres_url).port or 5432)
    return {"kafka": cpu_seconds(kafka) if kafka else None, "postgres": tree_cpu_seconds(postgres) if postgres else None}


def _process_cpu(system: PrivateSystem) -> dict[int, float]:
    """CPU seconds so far of every service process, by pid."""
    return {p.pid: cpu_seconds(p.pid) or 0.0 for p in system.processes if p.pid is not None}


def _per_service(system: PrivateSystem, cpu_before: dict[int, float], answered: int) -> dict[str, dict[str, float | None]]:
    """Each service's peak RSS (its largest process) and CPU per order (all its processes)."""
    figures: dict[str, dict[str, float | None]] = {}
    for service in SERVICES:
        pids = [p.pid for p in system.of(service) if p.pid is not None]
        cpu = sum((cpu_seconds(pid) or 0.0) - cpu_before[pid] for pid in pids)
        figures[service] = {
            "peak_rss_mb": max((peak_rss_mb(pid) or 0.0) for pid in pids),
            "cpu_ms_per_order": round(cpu * 1000 / max(answered, 1), 2),
        }
    return figures


def _per_order_ms(before: dict[str, float | None], after: dict[str, float | None], answered: int) -> dict[str, float | None]:
    """CPU milliseconds per order of each server, where both readings exist."""
    figures: dict[str, float | None] = {}
    for name, value in after.items():
        start = before[name]
        figures[name] = None if value is None or start is None else round((value - start) * 1000 / max(answered, 1), 2)
    return figures


def _throughput(result: LoadResult) -> tuple[float, float]:
    """(orders/s, seconds). Complete: orders over first placement -> last deadline stored. Capped:
    what got through so far."""
    if result.stored_seconds:
        return round(result.placed / result.stored_seconds, 1), round(result.stored_seconds, 2)
    last = result.timeline[-1]
    return round((last.stored or 0) / max(last.seconds, 1e-9), 1), round(last.seconds, 2)


async def measure(servers: Servers, sizes: Sizes, orders: int, *, instances: int = 1) -> dict[str, Any]:
    async with ready_system(servers, sizes, instances=instances) as (system, stream):
        cpu_before, servers_before, busy = _process_cpu(system), _servers_cpu(servers), MachineBusy()
        result = await place_orders(
            servers.kafka_bootstrap_servers, system.prefix, stream, orders=orders, rate=0,
            seconds=sizes.cap_seconds, settle=sizes.cap_seconds, deadlines_url=system.databases["deadlines"], run=system.run,
        )  # fmt: skip
        machine_busy, servers_after = busy.share(), _servers_cpu(servers)
        if servers_after["postgres"] is not None:  # the load generator's probe is not the system's work
            servers_after["postgres"] -= result.probe_cpu_seconds
        per_service = _per_service(system, cpu_before, result.answered)
    orders_per_s, seconds = _throughput(result)
    return {
        "instances": instances,
        "orders": result.placed,
        "accepted": result.accepted,
        "rejected": result.rejected,
        "rejections": dict(result.reasons),
        "complete": result.stored_seconds is not None,
        "orders_per_s": orders_per_s,
        "seconds": seconds,
        "placing_seconds": round(result.placing_seconds, 2),
        "machine_busy": machine_busy,
        "services": per_service,
        "servers_cpu_ms_per_order": _per_order_ms(servers_before, servers_after, result.answered),
        "timeline": [[s.seconds, s.answered, s.stored] for s in result.timeline],
    }


async def run(sizes: Sizes, servers: Servers) -> dict[str, Any]:
    return await measure(servers, sizes, sizes.e2e_orders)


def rows(f: dict[str, Any]) -> list[tuple[str, str, str, bool | None]]:
    note = "" if f["complete"] else " (capped: not all done)"
    table = [("End-to-end throughput, 1 instance each", f"{f['orders_per_s']:,.0f} orders/s{note}", ">= 2,000 orders/s", f["orders_per_s"] >= 2_000)]
    for service, s in f["services"].items():
        table.append((f"Peak RSS, {service}", f"{s['peak_rss_mb']:.0f} MB", "<= 150 MB", (s["peak_rss_mb"] or 0) <= 150))
    cpu = [f"{k} {v['cpu_ms_per_order']}" for k, v in f["services"].items()]
    cpu += [f"{k} {v}" for k, v in f["servers_cpu_ms_per_order"].items() if v is not None]
    total = total_cpu_ms(f)
    table.append((f"CPU ms per order, all processes (machine {f['machine_busy']:.0%} busy)", f"{total:.2f} ({', '.join(cpu)})", "<= 1.0 ms", total <= 1.0))
    return table


def total_cpu_ms(f: dict[str, Any]) -> float:
    """CPU per order of the services, the broker and the database server together."""
    return sum(v["cpu_ms_per_order"] or 0.0 for v in f["services"].values()) + sum(v or 0.0 for v in f["servers_cpu_ms_per_order"].values())
