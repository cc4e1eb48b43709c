"""No service outlives the run that launched it (issue 13): a tool or a test that starts services
through the harness and is then interrupted (SIGINT, SIGTERM), killed (SIGKILL) or timed out
(pytest-timeout) leaves no service process behind. Interrupted, it also drops what it created."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import asyncpg
import pytest

from devtools.launcher import REPO
from devtools.system import delete_topics, drop_database
from tests.support.hold_system import HELD
from tests.support.infra import Infra
from tests.support.interrupts import ctrl_c_works
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e

TOOL = [sys.executable, "-m", "tests.support.hold_system"]
# pytest-timeout's default method on Linux (SIGALRM): the test fails where it stands, the run goes on to its teardown.
TIMED_OUT_TEST = [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", "--timeout", "20", "tests/support/hold_system.py"]


def identity(pid: int) -> str | None:
    """The process's start time (unique with its pid), or None once it is gone or a zombie."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return None
    return None if fields[0] in ("Z", "X") else fields[19]


async def launch(command: list[str]) -> tuple[asyncio.subprocess.Process, dict]:  # type: ignore[type-arg]
    """Run the holding tool; wait until it says what it started."""
    tool = await asyncio.create_subprocess_exec(
        *command, cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, preexec_fn=ctrl_c_works
    )
    assert tool.stdout is not None
    output = []

    async def held() -> dict:  # type: ignore[type-arg]
        async for raw in tool.stdout:  # type: ignore[union-attr]
            line = raw.decode(errors="replace")
            output.append(line)
            if line.startswith(HELD):
                return json.loads(line.removeprefix(HELD))
        raise AssertionError("the tool ended before it held a system:\n" + "".join(output))

    return tool, await asyncio.wait_for(held(), 120)


async def databases_left(infra: Infra, names: list[str]) -> list[str]:
    conn = await asyncpg.connect(infra.postgres_url)
    try:
        return [r["datname"] for r in await conn.fetch("select datname from pg_database where datname = any($1::text[])", names)]
    finally:
        await conn.close()


async def clean_up(infra: Infra, tool: asyncio.subprocess.Process, services: dict[int, str | None], held: dict) -> None:  # type: ignore[type-arg]
    """What a failed or killed run left: the tool, its services (a failing test must not leave
    orphans either), its databases and topics."""
    if tool.returncode is None:
        tool.kill()
    for pid, started in services.items():
        if started is not None and identity(pid) == started:
            os.kill(pid, signal.SIGKILL)
    for url in held["databases"].values():
        await drop_database(infra.postgres_url, url.rsplit("/", 1)[1])
    await delete_topics(infra.kafka_bootstrap_servers, held["prefix"])


@pytest.mark.parametrize(
    ("command", "interrupt", "cleans_up"),
    [
        (TOOL, signal.SIGINT, True),
        (TOOL, signal.SIGTERM, True),
        (TOOL, signal.SIGKILL, False),  # nothing runs in the tool: the parent-death signal stops its services
        (TIMED_OUT_TEST, None, True),
    ],
    ids=["ctrl-c", "sigterm", "kill -9", "pytest-timeout"],
)
async def test_no_service_outlives_an_interrupted_killed_or_timed_out_run(
    infra: Infra, command: list[str], interrupt: signal.Signals | None, cleans_up: bool
) -> None:
    tool, held = await launch(command)
    services = {pid: identity(pid) for pid in held["pids"]}

    async def still_running() -> list[int]:
        return [pid for pid, started in services.items() if identity(pid) == started]

    try:
        assert all(services.values()), f"the services were not running: {services}"
        if interrupt is not None:
            tool.send_signal(interrupt)
        await asyncio.wait_for(tool.wait(), 60)
        await eventually(still_running, lambda left: not left, timeout=30)
        if cleans_up:
            assert await databases_left(infra, [url.rsplit("/", 1)[1] for url in held["databases"].values()]) == []
    finally:
        await clean_up(infra, tool, services, held)
