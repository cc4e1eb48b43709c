"""Run the benchmarks against the Kafka and PostgreSQL named by KAFKA_BOOTSTRAP_SERVERS and POSTGRES_URL.

    python -m bench.run [--quick | --full] [--only NAME ...]

Each benchmark starts its own services on fresh databases and topics, prints its figures, and
writes bench/results/<name>.json; at the end one table compares every figure in bench/results/
with its target (bench/results/summary.json), so re-running one benchmark updates its rows. --quick (the default) takes about three minutes; --full runs the
documented sizes (1,000,000 deadlines) and caps each measured phase at four minutes.
`python -m bench.plot` then draws docs/benchmarks.png from the results.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import time
from types import ModuleType
from typing import Any

from rich.console import Console
from rich.table import Table

from bench import deadlines, e2e_throughput, kafka_baseline, latency, scaling
from bench.harness import FULL, QUICK, RESULTS, Sizes, machine, servers, write
from devtools.launcher import run_stoppable
from shared.messaging.admin import connected_admin

BENCHMARKS: dict[str, ModuleType] = {
    "kafka_baseline": kafka_baseline,
    "e2e_throughput": e2e_throughput,
    "latency": latency,
    "deadlines": deadlines,
    "scaling": scaling,
}


def _relative_rows(results: dict[str, dict[str, Any]]) -> list[tuple[str, str, str, bool | None]]:
    """Figures relative to what Kafka alone relays here in the same run, when both ran: throughput as a
    share of the relay, and CPU per order times the relay's rate. This machine's speed moves by up to
    30% within minutes and both figures move with it; the product moves less (within about 5% at the
    machine's usual speed, docs/benchmarks.md), so it compares runs roughly, not small changes."""
    if "e2e_throughput" not in results or "kafka_baseline" not in results:
        return []
    e2e, raw = results["e2e_throughput"]["orders_per_s"], results["kafka_baseline"]["relay_msgs_per_s"]
    cpu = e2e_throughput.total_cpu_ms(results["e2e_throughput"])
    return [
        ("End-to-end throughput / Kafka relay", f"{e2e / raw:.4f}x ({e2e:,.0f} / {raw:,})", ">= 0.1x", e2e / raw >= 0.1),
        ("CPU ms per order x Kafka relay (thousand msg/s): machine speed roughly factored out", f"{cpu * raw / 1000:.1f} ({cpu:.2f} x {raw / 1000:.1f})", "-", None),
    ]


CLUTTERED = 100  # topics on the broker beyond which Kafka is measurably slower here


async def topic_count(bootstrap_servers: str) -> int:
    async with connected_admin(bootstrap_servers, timeout=30, security=None) as admin:
        return len(await admin.list_topics())


async def main(sizes: Sizes, names: list[str]) -> None:
    found = servers()
    console = Console()
    console.print(f"bench: {sizes.name} run of {', '.join(names)}; machine {machine()}")
    topics = await topic_count(found.kafka_bootstrap_servers)
    if topics > CLUTTERED:
        console.print(
            f"bench: note: the broker holds {topics} topics (leftovers of interrupted runs?); with ~900 the figures came out "
            "15-40% lower (docs/benchmarks.md). `scripts/stack.py reset` deletes the local stack's data: the next run starts it empty."
        )
    for name in names:
        started, load = time.monotonic(), [round(v, 2) for v in os.getloadavg()]
        console.print(f"bench: {name} ...")
        figures = await BENCHMARKS[name].run(sizes, found)
        path = write(name, sizes, figures, started, load)
        for figure, value, _, _ in BENCHMARKS[name].rows(figures):
            console.print(f"  {figure}: {value}")
        console.print(f"  ({time.monotonic() - started:.0f}s, load before {load}; {path.relative_to(RESULTS.parent.parent)})")
    summarise(console)


def summarise(console: Console) -> None:
    """One table of every benchmark's latest figures in bench/results/, against the targets."""
    documents = {name: json.loads((RESULTS / f"{name}.json").read_text()) for name in BENCHMARKS if (RESULTS / f"{name}.json").exists()}
    results = {name: document["figures"] for name, document in documents.items()}
    table_rows = [row for name, figures in results.items() for row in BENCHMARKS[name].rows(figures)] + _relative_rows(results)
    runs = {
        name: {"mode": d["mode"], "measured_at": d["measured_at"], "load_before": d["machine"]["load_average_before"], "load_after": d["machine"]["load_average"]}
        for name, d in documents.items()
    }
    table = Table(title="Benchmarks: " + "; ".join(f"{name} {run['mode']} {run['measured_at']}" for name, run in runs.items()))
    for column in ("figure", "measured", "target", "met"):
        table.add_column(column)
    for figure, value, target, met in table_rows:
        table.add_row(figure, value, target, "-" if met is None else ("yes" if met else "no"))
    console.print(table)
    summary = {
        "runs": runs,
        "machine": machine(),
        "rows": [{"figure": f, "measured": v, "target": t, "met": m} for f, v, t, m in table_rows],
    }
    (RESULTS / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")


def cli() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="small sizes, about three minutes in all (the default)")
    size.add_argument("--full", action="store_true", help="the documented sizes; each measured phase capped at four minutes")
    parser.add_argument("--only", nargs="+", choices=list(BENCHMARKS), metavar="NAME", help=f"run only these: {', '.join(BENCHMARKS)}")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        run_stoppable(main(FULL if args.full else QUICK, args.only or list(BENCHMARKS)))


if __name__ == "__main__":
    cli()
