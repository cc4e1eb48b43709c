"""Is this change faster? The end-to-end throughput benchmark on a base commit and on the working
tree, taking turns, so both meet the same machine in the same minutes.

    python -m bench.compare BASE [--rounds 3] [--orders 20000]

On a shared two-core machine the same code measures 30% apart from one hour to the next
(docs/benchmarks.md, "Results"); only runs taken side by side say what a change bought. BASE (a
commit, tag or branch) is checked out into a temporary git worktree, removed afterwards; both sides
run with this checkout's virtual environment, so a base with other dependencies needs them installed.
Each run is `bench.e2e_throughput.measure` in a process of its own, started in that side's tree (its
services, too, come from there). Prints each run as it ends, then each side's mean and range;
writes bench/results/compare.json. Ctrl-C stops cleanly: the run's services, databases and topics go.
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.harness import RESULTS

REPO = Path(__file__).resolve().parents[1]

# Run in the side's tree: `python -c` puts the working directory first on sys.path.
MEASURE = """
import asyncio, json, sys
from bench.harness import FULL, servers
from bench.e2e_throughput import measure
f = asyncio.run(measure(servers(), FULL, int(sys.argv[1])))
services = sum(s["cpu_ms_per_order"] for s in f["services"].values())
print(json.dumps({"orders_per_s": f["orders_per_s"], "complete": f["complete"], "services_cpu_ms": round(services, 3),
                  "servers_cpu_ms": f["servers_cpu_ms_per_order"], "machine_busy": f["machine_busy"]}))
"""


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=REPO, check=True, capture_output=True, text=True).stdout.strip()


def _measure(tree: Path, orders: int) -> dict[str, Any]:
    """One run of the throughput benchmark with the code in `tree`; its figures."""
    child = subprocess.Popen([sys.executable, "-c", MEASURE, str(orders)], cwd=tree, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = child.communicate()
    except KeyboardInterrupt:
        child.send_signal(signal.SIGINT)  # (a Ctrl-C reached it already; a SIGTERM of ours did not)
        child.wait()  # it stops its services and drops its databases and topics
        raise
    lines = [line for line in out.splitlines() if line.startswith('{"orders_per_s"')]
    if child.returncode != 0 or not lines:
        raise RuntimeError(f"the benchmark failed in {tree} (exit {child.returncode}): {err.strip()[-1500:]}")
    return dict(json.loads(lines[-1]))


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    def spread(values: list[float]) -> dict[str, float]:
        return {"mean": round(statistics.fmean(values), 3), "min": min(values), "max": max(values)}

    postgres = [r["servers_cpu_ms"].get("postgres") for r in runs if r["servers_cpu_ms"].get("postgres") is not None]
    return {
        "orders_per_s": spread([r["orders_per_s"] for r in runs]),
        "services_cpu_ms": spread([r["services_cpu_ms"] for r in runs]),
        "postgres_cpu_ms": spread(postgres) if postgres else None,
    }


def compare(base: str, rounds: int, orders: int) -> dict[str, Any]:
    commit = _git("rev-parse", "--verify", f"{base}^{{commit}}")
    current = _git("rev-parse", "--short", "HEAD") + ("+changes" if _git("status", "--porcelain", "--untracked-files=no") else "")
    runs: dict[str, list[dict[str, Any]]] = {"base": [], "current": []}
    with tempfile.TemporaryDirectory(prefix="bench-base-") as scratch:
        tree = Path(scratch) / "tree"
        _git("worktree", "add", "--detach", str(tree), commit)
        try:
            for round_ in range(1, rounds + 1):
                for side, where in (("base", tree), ("current", REPO)):
                    figures = _measure(where, orders)
                    runs[side].append(figures)
                    print(
                        f"compare: round {round_}/{rounds} {side:<7} {figures['orders_per_s']:>8,.0f} orders/s, "
                        f"services {figures['services_cpu_ms']:.2f} ms/order, servers {figures['servers_cpu_ms']}",
                        flush=True,
                    )
        finally:
            _git("worktree", "remove", "--force", str(tree))
    result = {
        "base": {"commit": commit[:12], **_summary(runs["base"])},
        "current": {"commit": current, **_summary(runs["current"])},
        "orders": orders,
        "runs": runs,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "compare.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def _print(result: dict[str, Any]) -> None:
    base, current = result["base"], result["current"]
    for name, label in (("orders_per_s", "orders/s"), ("services_cpu_ms", "services' CPU, ms an order"), ("postgres_cpu_ms", "PostgreSQL CPU, ms an order")):
        if base.get(name) is None or current.get(name) is None:
            continue
        b, c = base[name], current[name]
        print(f"{label:<28} base {b['mean']:>9,.2f} ({b['min']:,.2f}-{b['max']:,.2f})   current {c['mean']:>9,.2f} ({c['min']:,.2f}-{c['max']:,.2f})   x{c['mean'] / b['mean']:.2f}")


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("base", help="the commit, tag or branch to compare the working tree with")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each side, taking turns (default 3)")
    parser.add_argument("--orders", type=int, default=20_000, help="orders a run (default 20,000, as in --full)")
    args = parser.parse_args()
    if args.rounds < 1 or args.orders < 100:
        parser.error("--rounds must be at least 1 and --orders at least 100")
    signal.signal(signal.SIGTERM, _interrupted)  # stopped like Ctrl-C: nothing left behind
    try:
        _print(compare(args.base, args.rounds, args.orders))
    except subprocess.CalledProcessError as exc:
        print(f"compare: git {' '.join(exc.cmd[1:])} failed: {exc.stderr.strip()}", file=sys.stderr)
        return 2
    except RuntimeError as exc:
        print(f"compare: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("compare: stopped", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
