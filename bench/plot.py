"""Draw docs/benchmarks.png from bench/results/*.json: throughput, latency and deadline firing against their targets.

    python -m bench.plot [--out docs/benchmarks.png]

Needs matplotlib (a development dependency); the benchmarks themselves do not.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt

from bench.harness import RESULTS

DOCS = Path(__file__).resolve().parents[1] / "docs"
TARGET = {"color": "tab:red", "linestyle": "--", "linewidth": 1}


def load(name: str) -> dict[str, Any] | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def throughput(ax: plt.Axes, baseline: dict | None, e2e: dict | None, scaling: dict | None) -> None:
    bars: list[tuple[str, float]] = []
    if baseline:
        f = baseline["figures"]
        bars += [("Kafka\nproducer", f["producer_msgs_per_s"]), ("Kafka\nrelay", f["relay_msgs_per_s"])]
    if e2e:
        bars.append(("end to end\n1 instance", e2e["figures"]["orders_per_s"]))
    if scaling:
        one, two = scaling["figures"]["by_instances"]
        bars += [("scaling\n1 instance", one["orders_per_s"]), ("scaling\n2 instances", two["orders_per_s"])]
    ax.bar([b[0] for b in bars], [b[1] for b in bars], color=["tab:gray"] * 2 + ["tab:blue"] * (len(bars) - 2) if baseline else "tab:blue")
    for i, (_, value) in enumerate(bars):
        ax.annotate(f"{value:,.0f}", (i, value), ha="center", va="bottom", fontsize=8)
    ax.axhline(2_000, **TARGET, label="target 2,000 orders/s")
    ax.set_yscale("log")
    ax.set_ylim(bottom=10)
    ax.set_ylabel("messages or orders per second")
    ax.set_title("Throughput")
    ax.tick_params(axis="x", labelsize=8)
    ax.legend(fontsize=8)


def timeline(ax: plt.Axes, e2e: dict | None) -> None:
    if e2e:
        points = e2e["figures"]["timeline"]
        ax.plot([p[0] for p in points], [p[1] for p in points], label="answered")
        ax.plot([p[0] for p in points], [p[2] or 0 for p in points], label="deadlines stored")
        ax.legend(fontsize=8)
    ax.set_xlabel("seconds since the first order")
    ax.set_ylabel("orders")
    ax.set_title("End to end, orders placed flat out")


def latency(ax: plt.Axes, result: dict | None) -> None:
    if result:
        steps = [*result["figures"]["at_targets"], *result["figures"]["steps"]]
        labels = [f"{s['offered_per_s']:,.0f}/s" + ("" if s["sustained"] else "\n(not sustained)") for s in steps]
        for offset, name in ((-0.25, "p50"), (0, "p95"), (0.25, "p99")):
            ax.bar([i + offset for i in range(len(steps))], [s["latency_ms"][name] or 0 for s in steps], width=0.25, label=name)
        ax.set_xticks(range(len(steps)), labels, fontsize=8)
    ax.axhline(100, **TARGET, label="target p99 100 ms at 500/s")
    ax.axhline(50, color="tab:red", linestyle=":", linewidth=1, label="target p99 50 ms at 100/s")
    ax.set_yscale("log")
    ax.set_ylim(bottom=1)
    ax.set_ylabel("ms, placement -> acceptance")
    ax.set_title("Latency at an offered rate")
    ax.legend(fontsize=8)


def deadlines(ax: plt.Axes, result: dict | None) -> None:
    if result:
        sizes = result["figures"]["by_size"]
        labels = [f"{s['size']:,} due" for s in sizes]
        ax.bar([i - 0.2 for i in range(len(sizes))], [s["raw"]["claimed_per_s"] for s in sizes], width=0.4, color="tab:gray", label="raw SKIP LOCKED claim")
        ax.bar([i + 0.2 for i in range(len(sizes))], [s["service"]["fired_per_s"] for s in sizes], width=0.4, label="service: fired + published")
        ax.set_xticks(range(len(sizes)), labels, fontsize=8)
        lines = [
            f"lateness at {late['rate_per_s']:,.0f}/s, default settings: "
            f"p50 {late['lateness_ms']['p50']} ms, p99 {late['lateness_ms']['p99']} ms"
            for late in result["figures"]["lateness"]
        ]
        ax.text(0.02, 0.02, "\n".join(lines), transform=ax.transAxes, fontsize=8)
    ax.set_yscale("log")
    ax.set_ylim(bottom=100)
    ax.set_ylabel("deadlines per second")
    ax.set_title("Deadlines fired")
    ax.legend(fontsize=8)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.plot", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DOCS / "benchmarks.png")
    args = parser.parse_args()
    fig, axes = plt.subplots(2, 2, figsize=(12, 8.5))
    throughput(axes[0][0], load("kafka_baseline"), load("e2e_throughput"), load("scaling"))
    timeline(axes[0][1], load("e2e_throughput"))
    latency(axes[1][0], load("latency"))
    deadlines(axes[1][1], load("deadlines"))
    summary = load("summary")
    modes = sorted({run["mode"] for run in summary["runs"].values()}) if summary else ["?"]
    fig.suptitle(f"Handmade fulfilment benchmarks ({'/'.join(modes)} run; bench/results/*.json)")
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(f"plot: wrote {args.out}")


if __name__ == "__main__":
    main()
