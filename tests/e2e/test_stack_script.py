"""scripts/stack.py stopped by SIGTERM while it starts the servers: nothing it started is left running.

A CI job's timeout or an operator's `kill` reaches `stack.py exec` as SIGTERM, often during the
seconds the broker takes to start; a broker left behind holds its ports and its data directory.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.private_stack import REPO, free_port
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and b"kafka.Kafka" in Path(f"/proc/{pid}/cmdline").read_bytes()


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
    script = subprocess.Popen([sys.executable, str(REPO / "scripts" / "stack.py"), "exec", "--", "true"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # The broker's process exists (its pid written) and it does not answer yet: mid-start.
        await eventually(lambda: _read(pid_file), lambda text: text != "", timeout=60, every=0.05)
        broker = int(pid_file.read_text())
        assert alive(broker)
        script.send_signal(signal.SIGTERM)
        out, err = script.communicate(timeout=90)
    finally:
        if script.poll() is None:
            script.kill()
    assert script.returncode == 128 + signal.SIGTERM, (out, err)
    assert "Traceback" not in err, err
    assert "kafka: started" not in out  # the signal came before the broker was up, as intended
    assert not alive(broker)
    assert not pid_file.exists()


async def _read(path: Path) -> str:
    return path.read_text() if path.exists() else ""
