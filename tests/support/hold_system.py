"""A tool that starts a private system through the harness and holds it until it is interrupted:
the subject of tests/e2e/test_launcher.py, which interrupts it in every way a run ends badly.

    python -m tests.support.hold_system          # SIGINT, SIGTERM or SIGKILL it
    pytest tests/support/hold_system.py --timeout N   # its one test never ends: pytest-timeout does

It prints one line, HELD {"pids": [...], "databases": {...}, "prefix": ...}, once the service is ready.
"""

from __future__ import annotations

import asyncio
import json

from devtools.launcher import run_stoppable
from devtools.system import PrivateSystem, Servers

HELD = "HELD "


async def hold() -> None:
    async with PrivateSystem(Servers.from_env(), label="held", services=("deadlines",)) as system:
        held = {"pids": [p.pid for p in system.processes], "databases": system.databases, "prefix": system.prefix}
        print(HELD + json.dumps(held), flush=True)
        await asyncio.Event().wait()  # until interrupted: nothing sets it


async def test_hold_a_system_until_the_run_times_out() -> None:
    """Collected only when this file is named on pytest's command line (it is no test_*.py)."""
    await hold()


if __name__ == "__main__":
    run_stoppable(hold())
