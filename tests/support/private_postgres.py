"""A PostgreSQL server of a test's own, started and crashed through scripts/stack.py, for tests that
take the database away from a service without disturbing the server every other test uses."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PrivatePostgres:
    def __init__(self, directory: Path, databases: tuple[str, ...]) -> None:
        self.port = free_port()
        self._env = {**os.environ, "STACK_DIR": str(directory), "PG_PORT": str(self.port), "PG_DATABASES": " ".join(databases)}

    def url(self, database: str) -> str:
        return f"postgresql://fulfil:fulfil@127.0.0.1:{self.port}/{database}"

    def up(self) -> None:
        self._stack("up", "postgres")

    def crash(self) -> None:
        """An immediate shutdown, as a crash: connections drop, nothing answers until `up`."""
        self._stack("crash", "postgres")

    def down(self) -> None:
        self._stack("down", "postgres")

    def _stack(self, *args: str) -> None:
        done = subprocess.run([sys.executable, str(REPO / "scripts" / "stack.py"), *args], env=self._env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"stack.py {' '.join(args)} failed: {done.stderr or done.stdout}")
