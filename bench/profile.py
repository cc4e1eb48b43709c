"""Where the services spend their CPU: the three services under cProfile while orders flow flat out.

    python -m bench.profile [--orders 3000] [--top 20]

Profiles count CPU time (time.process_time), not wall time, so other processes on a busy machine
do not show up as time spent in a system call. Prints, per service, the CPU per order, its share
per part of the stack (event loop and sockets, asyncpg, aiokafka, FastStream, structlog, pydantic,
our code), the PostgreSQL statements it sent per order (by their first words), and the functions
with the most own time. The raw profiles stay in
$TMPDIR/fulfil-profiles/<service>.prof for `python -m pstats`.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import runpy
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from asyncpg.connection import Connection

from bench.harness import servers
from devtools.launcher import REPO, ServiceProcess, run_stoppable
from devtools.loadgen import Catalogue, OrderStream, place_orders, seed_catalogue
from devtools.system import PrivateSystem
from shared.contracts.topics import SERVICES

PROFILES = Path(tempfile.gettempdir()) / "fulfil-profiles"  # where each profiled service writes its profile


class ProfiledService(ServiceProcess):
    """The service run by this module's child mode; its profile is written when it stops cleanly (SIGTERM)."""

    def command(self) -> list[str]:
        return [sys.executable, "-m", "bench.profile", "--child", self.name]


def count_statements(counts: Counter[str]) -> None:
    """Count every statement the process sends to PostgreSQL, by its first words: round trips are
    what the profile says costs most. Patches asyncpg's Connection in this (child) process only."""
    plain_execute, prepared_execute, execute_many = Connection.execute, Connection._execute, Connection._executemany

    def name(query: str) -> str:
        return " ".join(query.split())[:70]

    async def execute(self: Connection, query: str, *args: object, **kwargs: object) -> object:
        if not args:  # with arguments it goes through _execute, counted there
            counts[name(query)] += 1
        return await plain_execute(self, query, *args, **kwargs)

    async def prepared(self: Connection, query: str, *args: object, **kwargs: object) -> object:
        counts[name(query)] += 1
        return await prepared_execute(self, query, *args, **kwargs)

    async def many(self: Connection, query: str, *args: object, **kwargs: object) -> object:
        counts["(executemany) " + name(query)] += 1
        return await execute_many(self, query, *args, **kwargs)

    Connection.execute, Connection._execute, Connection._executemany = execute, prepared, many  # type: ignore[method-assign]


def child(service: str) -> None:
    statements: Counter[str] = Counter()
    count_statements(statements)
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    try:
        runpy.run_module(f"services.{service}", run_name="__main__")
    finally:
        profiler.disable()
        profiler.dump_stats(PROFILES / f"{service}.prof")
        (PROFILES / f"{service}.statements.json").write_text(json.dumps(statements.most_common()))


GROUPS = {  # site-packages name -> group in the report
    "asyncpg": "asyncpg",
    "aiokafka": "aiokafka",
    "faststream": "FastStream (+ fast_depends, anyio)",
    "fast_depends": "FastStream (+ fast_depends, anyio)",
    "anyio": "FastStream (+ fast_depends, anyio)",
    "structlog": "structlog",
    "pydantic": "pydantic",
    "pydantic_core": "pydantic",
    "orjson": "orjson",
}


def group(path: str) -> str:
    """Which part of the stack a profiled function belongs to."""
    if "site-packages/" in path:
        return GROUPS.get(path.split("site-packages/", 1)[1].split("/", 1)[0], "other libraries")
    if path.startswith(str(REPO)):
        return "our code (shared/, services/)"
    return "event loop, sockets and the rest of the stdlib"


def report(service: str, orders: int, top: int) -> str:
    out = io.StringIO()
    stats = pstats.Stats(str(PROFILES / f"{service}.prof"), stream=out)
    by_group: Counter[str] = Counter()
    for (path, _, _), (_, _, own, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        by_group[group(path)] += own
    total = sum(by_group.values())
    lines = [f"== {service}: {total:.1f} CPU s profiled, {total * 1000 / orders:.2f} ms per order (cProfile slows it about 2-3x)"]
    lines += [f"   {share / total:6.1%}  {name}" for name, share in by_group.most_common()]
    statements = json.loads((PROFILES / f"{service}.statements.json").read_text())
    lines.append(f"   PostgreSQL statements: {sum(n for _, n in statements) / orders:.1f} per order")
    lines += [f"   {n / orders:8.2f}  {text}" for text, n in statements[:12]]
    stats.sort_stats("tottime").print_stats(top)
    lines += [line for line in out.getvalue().splitlines() if line.strip()][-(top + 1) :]
    return "\n".join(lines)


async def main(args: argparse.Namespace) -> None:
    found = servers()
    PROFILES.mkdir(parents=True, exist_ok=True)
    async with PrivateSystem(found, label="profile", process=ProfiledService) as system:
        catalogue = Catalogue(seed=7, run=system.run, sellers=500, listings_per_seller=10)
        await seed_catalogue(system.databases["inventory"], catalogue)
        result = await place_orders(
            found.kafka_bootstrap_servers, system.prefix, OrderStream(catalogue, seed=7), orders=args.orders, rate=0, settle=300,
            deadlines_url=system.databases["deadlines"], run=system.run,
        )
    done = result.stored_seconds or float("nan")
    print(f"profile: {result.placed} orders, {result.answered} answered, all deadlines stored after {done:.1f}s "
          f"({result.placed / done:,.0f} orders/s under the profiler)")
    for service in SERVICES:
        print(report(service, result.placed, args.top))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=3000)
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--child", metavar="SERVICE", help=argparse.SUPPRESS)  # run one service under the profiler
    parsed = parser.parse_args()
    if parsed.child:
        child(parsed.child)
    else:
        run_stoppable(main(parsed))
