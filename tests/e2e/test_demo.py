"""`make run`'s demo, run as a user runs it (not on a terminal: plain lines), against the real stack on a
fast clock: the whole lifecycle shows, it ends with a summary and exit status 0, and nothing it started
is left: no service process, no database, no topic. Ctrl-C and SIGTERM end it the same way."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from devtools.launcher import REPO
from shared.contracts.topics import SERVICES
from tests.e2e.test_launcher import databases_left, identity
from tests.support.infra import Infra
from tests.support.interrupts import ctrl_c_works

pytestmark = pytest.mark.e2e

DEMO = [sys.executable, "-m", "devtools.demo", "--speed", "86400", "--seed", "7"]  # a simulated day per real second


class Demo:
    """The demo as a child process, its output read line by line as it comes."""

    def __init__(self, infra: Infra, logs: Path, *args: str) -> None:
        self.command = [*DEMO, *args]
        servers = {"KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap_servers, "POSTGRES_URL": infra.postgres_url}
        self.env = {**os.environ, **servers, "STACK_DIR": str(logs)}  # the services' logs go to STACK_DIR/logs/demo
        self.lines: list[str] = []
        self.changed = asyncio.Event()

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            *self.command, cwd=REPO, env=self.env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, preexec_fn=ctrl_c_works
        )
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for raw in self.process.stdout:
            self.lines.append(raw.decode(errors="replace").rstrip("\n"))
            self.changed.set()

    async def line(self, pattern: str, timeout: float) -> re.Match[str]:
        async def found() -> re.Match[str]:
            while True:
                for line in self.lines:
                    if match := re.search(pattern, line):
                        return match
                self.changed.clear()
                await self.changed.wait()

        try:
            return await asyncio.wait_for(found(), timeout)
        except TimeoutError:
            raise AssertionError(f"no line matching {pattern!r} within {timeout}s:\n{self.text}") from None

    async def finished(self, timeout: float) -> int:
        try:
            code = await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            self.process.kill()
            raise AssertionError(f"the demo did not end within {timeout}s:\n{self.text}") from None
        await self.reader
        return code

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def count(self, label: str) -> int:
        """A number from the summary: the first `label N` after its first line."""
        _, found, summary = self.text.partition("demo: summary after")
        match = re.search(rf"{label}\s+(\d+)", summary)
        assert found and match, f"no {label!r} in the summary:\n{self.text}"
        return int(match.group(1))

    def kinds(self) -> set[str]:
        """The kinds of the notable-event lines (`day   3 14:05  penalty  o00012  ...`)."""
        return {m.group(1).strip() for line in self.lines if (m := re.match(r"day +\d+ \d\d:\d\d  (.{12}) ", line))}


async def started_things(demo: Demo) -> tuple[dict[int, str | None], list[str], str]:
    """The service processes (pid -> identity), databases and topic prefix the demo says it started."""
    services = await demo.line(r"^demo: services (.*)$", 120)
    pids = [int(pid) for pid in re.findall(r"pid (\d+)", services.group(1))]
    stored = await demo.line(r"^demo: databases (.*); topics (\S+)\*;", 10)
    return {pid: identity(pid) for pid in pids}, stored.group(1).split(", "), stored.group(2)


async def assert_nothing_left(infra: Infra, services: dict[int, str | None], databases: list[str], prefix: str) -> None:
    assert len(services) == len(SERVICES) + 1 and all(services.values())  # the services and the seller portal
    assert [pid for pid, started in services.items() if identity(pid) == started] == []
    assert await databases_left(infra, databases) == []
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka_bootstrap_servers)
    await admin.start()
    try:
        assert [t for t in await admin.list_topics() if t.startswith(prefix)] == []
    finally:
        await admin.close()


async def test_the_demo_shows_the_whole_lifecycle_and_leaves_nothing_behind(infra: Infra, tmp_path: Path) -> None:
    demo = Demo(infra, tmp_path, "--orders", "40", "--rate", "10")
    await demo.start()
    try:
        services, databases, prefix = await started_things(demo)
        assert await demo.finished(240) == 0, demo.text
    finally:
        if demo.process.returncode is None:
            demo.process.kill()
    # As they happened: late shipments, penalties (R11), 30-day cancellations (R12), restorations (R14).
    assert {"shipped late", "penalty", "cancelled", "restored", "progress"} <= demo.kinds(), demo.text
    # The summary: most orders accepted (sellers restock), shipped on time and late, deadlines fired.
    assert demo.count("orders") == 40 and demo.count("placed:") >= 30
    shipped, on_time, late = demo.count("shipments"), demo.count("on time"), demo.count(", late")
    assert on_time > 0 and late > 0 and on_time + late == shipped
    penalties, cancellations = demo.count("late-shipment penalties"), demo.count("cancellations")
    assert penalties >= late and cancellations > 0 and demo.count("stock restorations") == cancellations
    # Sellers sent invalid tracking ids; the shipments count what shipment.confirmed says of them (S5).
    assert demo.count("invalid tracking") > 0
    valid, invalid, unchecked = demo.count("valid"), demo.count("invalid"), demo.count("unchecked")
    assert valid + invalid + unchecked == shipped
    if valid + invalid:  # the orders service checks tracking ids (S5): the made-up ones are invalid
        assert invalid > 0
    assert re.search(r"seller-c +overwhelmed", demo.text)
    await assert_nothing_left(infra, services, databases, prefix)


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
async def test_ctrl_c_stops_everything_the_demo_started_and_prints_a_summary(infra: Infra, tmp_path: Path, stop: signal.Signals) -> None:
    demo = Demo(infra, tmp_path, "--rate", "5")
    await demo.start()
    try:
        services, databases, prefix = await started_things(demo)
        await demo.line(r"  penalty  ", 120)  # well into the lifecycle
        demo.process.send_signal(stop)
        assert await demo.finished(90) == 0, demo.text
    finally:
        if demo.process.returncode is None:
            demo.process.kill()
    assert "demo: summary after" in demo.text and demo.count("late-shipment penalties") > 0
    assert demo.lines[-1] == "demo: everything it started has stopped; databases and topics dropped"
    await assert_nothing_left(infra, services, databases, prefix)
