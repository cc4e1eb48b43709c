"""One service as an operating-system process, as it runs in production: started, waited for,
signalled, and never left running after the program that started it (tests, tools, benchmarks).

How no service outlives its launcher:
- Each service runs in a process group of its own, so a terminal's Ctrl-C reaches only the
  launcher, which then stops its services in order (SIGTERM, then SIGKILL after a grace period)
  instead of every process getting the signal at once mid-way through a test's teardown.
- Services still running when the launcher's interpreter exits (an exception, SystemExit, the
  end of a pytest session) are stopped by an atexit hook.
- A launcher that dies without running any Python code (kill -9, pytest-timeout's os._exit, an
  out-of-memory kill) takes its services with it: they are started with the Linux
  parent-death signal (prctl PR_SET_PDEATHSIG = SIGKILL). Chosen over a watchdog process or a
  pipe the service watches because it needs neither a helper process nor any code in the
  services; SIGKILL because nobody is left to wait for a clean shutdown. The kernel sends it when
  the *thread* that started the process ends, so it is armed only for processes started from the
  main thread (the event loop's): the others rely on the atexit hook.
- `run_stoppable` runs a tool's coroutine with SIGTERM handled like Ctrl-C (the coroutine is
  cancelled, so its `finally` blocks stop the services and drop what they created).
"""

from __future__ import annotations

import asyncio
import atexit
import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from shared.logs import event_marker

REPO = Path(__file__).resolve().parents[1]
STARTED = event_marker("service.started")  # the line a service logs once it consumes and relays
GRACE_SECONDS = 30.0  # from SIGTERM to SIGKILL
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
T = TypeVar("T")

_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None
_live: set[ServiceProcess] = set()  # started and not yet seen to exit: what the atexit hook stops


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _die_with(parent: int) -> Callable[[], None]:
    """Runs in the child between fork and exec: ask the kernel for SIGKILL when the parent ends."""

    def arrange() -> None:
        assert _LIBC is not None
        _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before the request took effect
            os._exit(1)

    return arrange


@dataclass(eq=False)
class ServiceProcess:
    """`python -m services.<name>` with `env` on top of this process's environment, its output
    appended to `log_path`. start() again after kill() or stop() restarts it on the same log."""

    name: str
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _starts_seen: int = field(default=0, repr=False)

    def __post_init__(self) -> None:
        # Its own HTTP port (health, metrics) unless the caller chose one: several run side by side.
        self.env.setdefault("HTTP_PORT", str(free_port()))

    @property
    def http(self) -> str:
        """Where its health and metrics are served."""
        return f"http://127.0.0.1:{self.env['HTTP_PORT']}"

    def command(self) -> list[str]:
        """What runs; a subclass may run the service differently (under a profiler, say)."""
        return [sys.executable, "-m", f"services.{self.name}"]

    def start(self) -> None:
        self._starts_seen = self.log().count(STARTED)  # a restart appends to the same log
        in_main_thread = threading.current_thread() is threading.main_thread()
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command(),
                cwd=REPO,
                env={**os.environ, **self.env},
                stdout=log,
                stderr=subprocess.STDOUT,
                process_group=0,
                preexec_fn=_die_with(os.getpid()) if _LIBC is not None and in_main_thread else None,
            )
        _live.add(self)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    async def wait_started(self, timeout: float = 90.0) -> None:
        """Wait until the service is ready, or fail with its log. Ready: this start logged
        `service.started` and GET /health/ready answers 200 (database and Kafka answer, every
        consumer joined its group, its loops run). The one readiness check of the tools and tests."""
        deadline = time.monotonic() + timeout
        while not await asyncio.to_thread(self.ready):
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited with {self.process.returncode}:\n{self.log()[-4000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name} did not become ready within {timeout}s:\n{self.log()[-4000:]}")
            await asyncio.sleep(0.1)

    def ready(self) -> bool:
        if self.log().count(STARTED) <= self._starts_seen:
            return False
        try:
            with urllib.request.urlopen(f"{self.http}/health/ready", timeout=5) as answer:
                return bool(answer.status == 200)
        except OSError:  # refused, or 503 (HTTPError is an OSError)
            return False

    async def restart(self, timeout: float = 90.0) -> None:
        self.start()
        await self.wait_started(timeout)

    def send_signal(self, signum: int) -> None:
        """Send `signum` to the service's process group, if it still runs."""
        if self.running():
            assert self.process is not None
            try:
                os.killpg(self.process.pid, signum)
            except ProcessLookupError:
                pass  # exited in between

    def kill(self) -> None:
        """kill -9: no shutdown hooks run."""
        self.send_signal(signal.SIGKILL)
        self._reap(None)

    def stop(self, timeout: float = GRACE_SECONDS) -> int | None:
        """SIGTERM and wait: the service shuts down cleanly; SIGKILL if it has not after `timeout`."""
        stop_all([self], timeout)
        return self.process.returncode if self.process else None

    def _reap(self, timeout: float | None) -> bool:
        """Wait up to `timeout` seconds (None: as long as it takes) for the process to end."""
        if self.process is None:
            return True
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        _live.discard(self)
        return True


def stop_all(processes: Iterable[ServiceProcess], grace: float = GRACE_SECONDS) -> None:
    """SIGTERM to every process at once, then SIGKILL to those still running after `grace` seconds."""
    processes = list(processes)
    running = [p for p in processes if p.running()]
    for each in running:
        each.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for each in running:
        if not each._reap(max(0.0, deadline - time.monotonic())):
            each.kill()
    for each in processes:
        each._reap(None)


@atexit.register
def _stop_leftovers() -> None:
    stop_all(list(_live), grace=10.0)


def run_stoppable(main: Coroutine[Any, Any, T]) -> T:
    """asyncio.run, with SIGTERM handled like Ctrl-C: the coroutine is cancelled, so the services it
    launched stop and their databases and topics are dropped instead of being left behind."""

    async def guarded() -> T:
        task = asyncio.current_task()
        assert task is not None
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        return await main

    try:
        return asyncio.run(guarded())
    except asyncio.CancelledError:
        raise SystemExit(128 + signal.SIGTERM) from None
