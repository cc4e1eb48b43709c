"""What every benchmark shares: where the servers are, how big a run is, and how figures are measured and kept."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from devtools.loadgen import Catalogue, OrderStream, place_orders, seed_catalogue
from devtools.system import PrivateSystem, Servers

RESULTS = Path(__file__).resolve().parent / "results"


def servers() -> Servers:
    """The servers named by the environment: a benchmark never guesses which cluster it measures."""
    if not (os.environ.get("KAFKA_BOOTSTRAP_SERVERS") and os.environ.get("POSTGRES_URL")):
        raise SystemExit(
            "bench: set KAFKA_BOOTSTRAP_SERVERS and POSTGRES_URL (an administrative URL), "
            "or run `make bench`, which starts the local stack and sets both"
        )
    return Servers.from_env()


@dataclass(frozen=True)
class Sizes:
    """How big each benchmark runs; every phase is also capped in seconds, so a slow system ends too."""

    name: str
    cap_seconds: float  # the longest any one measured phase may take
    baseline_messages: int
    sellers: int
    listings_per_seller: int
    e2e_orders: int
    latency_rate: float
    latency_seconds: float
    deadline_sizes: tuple[int, ...]  # the largest is the headline figure
    lateness_rate: float
    lateness_seconds: float
    scaling_orders: int


QUICK = Sizes(
    name="quick", cap_seconds=60, baseline_messages=20_000, sellers=200, listings_per_seller=10, e2e_orders=1_500,
    latency_rate=1000, latency_seconds=8, deadline_sizes=(10_000,), lateness_rate=1000, lateness_seconds=8, scaling_orders=1_000,
)
FULL = Sizes(
    name="full", cap_seconds=240, baseline_messages=200_000, sellers=2_000, listings_per_seller=10, e2e_orders=20_000,
    latency_rate=1000, latency_seconds=30, deadline_sizes=(10_000, 100_000, 1_000_000), lateness_rate=1000, lateness_seconds=30,
    scaling_orders=6_000,
)


@contextlib.asynccontextmanager
async def ready_system(servers: Servers, sizes: Sizes, *, instances: int = 1, warm_up: int = 60) -> AsyncIterator[tuple[PrivateSystem, OrderStream]]:
    """The three services on fresh databases and topics with the catalogue of these sizes, warmed up by a
    few orders through the whole chain, so a measurement starts in steady state: consumer groups
    joined (a service says "started" before its groups have), connections open, statements prepared."""
    async with PrivateSystem(servers, label="bench", instances=instances) as system:
        catalogue = Catalogue(seed=7, run=system.run, sellers=sizes.sellers, listings_per_seller=sizes.listings_per_seller)
        await seed_catalogue(system.databases["inventory"], catalogue)
        stream = OrderStream(catalogue, seed=7)
        warm = await place_orders(
            servers.kafka_bootstrap_servers, system.prefix, stream, orders=warm_up, settle=60, deadlines_url=system.databases["deadlines"], run=system.run
        )
        if warm.stored_seconds is None:
            raise RuntimeError(f"warm-up orders did not get through within 60s; see the service logs in {system.logs}")
        yield system, stream


def percentiles_ms(seconds: list[float]) -> dict[str, float | None]:
    ordered = sorted(seconds)

    def at(share: float) -> float | None:
        return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000, 1) if ordered else None

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "max": at(1.0), "count": len(ordered)}


class MachineBusy:
    """The share of all cores busy between start() and stop(): tells whether a figure was CPU-bound."""

    def __init__(self) -> None:
        self._start = self._read()

    @staticmethod
    def _read() -> tuple[int, int]:
        values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        idle = values[3] + values[4]  # idle + iowait
        return sum(values) - idle, sum(values)

    def share(self) -> float:
        busy, total = self._read()
        return round((busy - self._start[0]) / max(total - self._start[1], 1), 3)


def machine() -> dict[str, Any]:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), "?")
    memory = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gb": round(memory / 1024 / 1024, 1),
        "python": platform.python_version(),
        "load_average": [round(v, 2) for v in os.getloadavg()],
    }


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


def write(name: str, sizes: Sizes, figures: dict[str, Any], started: float, load_before: list[float]) -> Path:
    """Keep one benchmark's figures, with what they were measured on and how loaded the machine was."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    document = {
        "benchmark": name,
        "mode": sizes.name,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(time.monotonic() - started, 1),
        "commit": git_commit(),
        "machine": {**machine(), "load_average_before": load_before},
        "figures": figures,
    }
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path
