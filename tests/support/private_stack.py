"""Servers of a test's own (PostgreSQL, and Kafka when asked), started and crashed through
scripts/stack.py, for tests that take a server away from a service without disturbing the ones every
other test uses."""

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


class PrivateStack:
    def __init__(self, directory: Path, databases: tuple[str, ...], servers: tuple[str, ...] = ("postgres",)) -> None:
        self.port = free_port()
        self.kafka_port = free_port()
        self.servers = servers
        self._env = {
            **os.environ,
            "STACK_DIR": str(directory),
            "PG_PORT": str(self.port),
            "PG_DATABASES": " ".join(databases),
            "KAFKA_PORT": str(self.kafka_port),
            "KAFKA_CONTROLLER_PORT": str(free_port()),
        }

    def url(self, database: str) -> str:
        return f"postgresql://fulfil:fulfil@127.0.0.1:{self.port}/{database}"

    @property
    def kafka(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    def up(self, *servers: str) -> None:
        self._stack("up", *(servers or self.servers))

    def crash(self, server: str = "postgres") -> None:
        """kill -9 of Kafka, an immediate shutdown of PostgreSQL: connections drop, nothing answers until `up`."""
        self._stack("crash", server)

    def down(self) -> None:
        self._stack("down", *self.servers)

    def _stack(self, *args: str) -> None:
        done = subprocess.run([sys.executable, str(REPO / "scripts" / "stack.py"), *args], env=self._env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"stack.py {' '.join(args)} failed: {done.stderr or done.stdout}")
