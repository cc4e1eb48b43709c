"""scripts/stack.py stopped by SIGTERM while it starts the servers: nothing it started is left running.

A CI job's timeout or an operator's `kill` reaches `stack.py exec` as SIGTERM, often during the
seconds the broker takes to start; a broker left behind holds its ports and its data directory.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from tests.support.private_stack import REPO, free_port
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e


def alive(pid: int) -> bool:
    """Whether `pid` is a Kafka broker still running (a reaped or reused pid is not)."""
    try:
        return b"kafka.Kafka" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


async def test_sigterm_while_the_broker_starts_stops_the_broker_and_exits_143(tmp_path: Path) -> None:
    main_stack = Path(os.environ.get("STACK_DIR", REPO / ".stack"))
    env = {
        **os.environ,
        "STACK_DIR": str(tmp_path / "stack"),
        "KAFKA_PORT": str(free_port()),
        "KAFKA_CONTROLLER_PORT": str(free_port()),
        "PG_PORT": str(free_port()),
        "KAFKA_LIBS_DIR": os.environ.get("KAFKA_LIBS_DIR", str(main_stack / "kafka-libs")),  # no second download
    }
    pid_file = tmp_path / "stack" / "kafka" / "kafka.pid"
    script = await asyncio.create_subprocess_exec(sys.executable, str(REPO / "scripts" / "stack.py"), "exec", "--", "true", env=env,
                                                  stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    broker = None
    try:
        # The broker's process exists (its pid written) and it does not answer yet: mid-start.
        await eventually(lambda: asyncio.to_thread(_read, pid_file), lambda text: text.strip().isdigit(), timeout=60, every=0.05)
        broker = int(_read(pid_file))
        script.send_signal(signal.SIGTERM)
        out, err = (part.decode() for part in await asyncio.wait_for(script.communicate(), 90))
    finally:
        if script.returncode is None:
            script.kill()
            await script.wait()
        left = broker is not None and alive(broker)
        if left:  # whatever the outcome, no broker outlives the test
            os.kill(broker, signal.SIGKILL)
    assert script.returncode == 128 + signal.SIGTERM, (out, err)
    assert "Traceback" not in err, err
    assert "kafka: started" not in out  # the signal came before the broker was up, as intended
    assert not left, (out, err)
    assert not pid_file.exists()


def _read(path: Path) -> str:
    return path.read_text() if path.exists() else ""
