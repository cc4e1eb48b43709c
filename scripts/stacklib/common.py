"""What every part of the stack script shares: its one kind of error, its output and log tails, the
checks on ports and processes it makes before starting or after stopping a server, and the JVM
options of the one-shot Java tools (Kafka's storage format, keytool).

Nothing here knows about Kafka or PostgreSQL, so every other module may use it."""
from __future__ import annotations

import contextlib
import errno
import os
import re
import socket
import time
from pathlib import Path


class StackError(Exception):
    """A problem reported as one `stack: error:` line (exit code 2), never a traceback."""


def say(message: str) -> None:
    print(message, flush=True)


def tail(text: str, lines: int = 20) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)  # Maven colours its output even in batch mode
    return "\n".join("    " + line for line in text.rstrip().splitlines()[-lines:])


def fresh_log(path: Path) -> None:
    """Set the last run's log aside so a failure shows this run's lines, not the last shutdown's."""
    with contextlib.suppress(FileNotFoundError):
        path.replace(path.with_suffix(".previous.log"))


def log_tail(*paths: Path) -> str:
    logs = [p for p in paths if p.exists() and p.stat().st_size]
    parts = [f"  {p}:\n{tail(p.read_text(errors='replace'))}" for p in logs]
    return "\n".join(parts) or "  (no log output)"


def check_port_free(host: str, port: int, variable: str) -> None:
    with socket.socket() as probe:
        # SO_REUSEADDR ignores sockets lingering in TIME_WAIT; only a live listener makes bind fail.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRNOTAVAIL:
                raise StackError(f"STACK_HOST={host} is not an address of this machine") from None
            raise StackError(f"port {port} on {host} is already in use by another process; "
                             f"set {variable} to use another port") from None


def process_alive(pid: int, marker: str) -> bool:
    """True if `pid` runs a command line containing `marker` (guards against recycled pids and zombies)."""
    try:
        return marker.encode() in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def wait_gone(pid: int, marker: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while process_alive(pid, marker):
        if time.monotonic() > deadline:
            return False
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # reap it if we are its parent (`exec` started it)
        time.sleep(0.2)
    return True


# A one-shot Java tool (storage format, keytool) starts twice as fast without the optimising compiler.
QUICK_JVM = ("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1")
