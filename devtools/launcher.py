"""Running the services as real, separate processes, as they run in production (tests, demo, harnesses)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STARTED = '"event": "service.started"'


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class ServiceProcess:
    name: str
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _starts_seen: int = field(default=0, repr=False)

    def __post_init__(self) -> None:
        # Its own HTTP port (health, metrics), unless the caller chose one: several run side by side.
        self.env.setdefault("HTTP_PORT", str(free_port()))

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.env['HTTP_PORT']}"

    def start(self) -> None:
        self._starts_seen = self.log().count(STARTED)  # a restart appends to the same log
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", f"services.{self.name}"],
            cwd=REPO,
            env={**os.environ, **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    async def wait_started(self, timeout: float = 90.0) -> None:
        """Wait until the service says it is ready (GET /health/ready answers 200: database, Kafka,
        consumer groups joined, loops running), or fail with its log."""
        deadline = time.monotonic() + timeout
        while not await asyncio.to_thread(self.ready):
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited with {self.process.returncode}:\n{self.log()[-4000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name} did not become ready within {timeout}s:\n{self.log()[-4000:]}")
            await asyncio.sleep(0.1)

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.http}/health/ready", timeout=5) as answer:
                return answer.status == 200 and self.log().count(STARTED) > self._starts_seen
        except (OSError, urllib.error.URLError):
            return False

    def kill(self) -> None:
        """kill -9: no shutdown hooks run."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM and wait: the service shuts down cleanly."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


@contextlib.asynccontextmanager
async def running(services: list[ServiceProcess]) -> AsyncIterator[dict[str, ServiceProcess]]:
    """Start the services, wait until each is consuming, and stop them all afterwards."""
    for service in services:
        service.start()
    try:
        for service in services:
            await service.wait_started()
        yield {service.name: service for service in services}
    finally:
        for service in services:
            service.stop()
