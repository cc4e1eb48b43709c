"""What Linux's /proc says about a local process: its CPU time, its peak memory, the port it listens on.
Benchmarks and the load generator measure the services, the broker and the database server with it."""

from __future__ import annotations

import os
from pathlib import Path


def peak_rss_mb(pid: int) -> float | None:
    """The process's peak resident set (VmHWM) so far, in MB; None once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except FileNotFoundError:
        pass
    return None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds the process has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return None
    return round((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), 2)


def tree_cpu_seconds(pid: int) -> float | None:
    """CPU seconds of a process, its exited (reaped) children and its live children: a PostgreSQL
    server's backends come and go with the connections."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return None
    total = sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        total += cpu_seconds(int(child)) or 0.0
    return round(total, 2)


def listening_pid(port: int) -> int | None:
    """The local process listening on a TCP port (Linux /proc), to count the broker's or the database's CPU."""
    sockets = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                sockets.add(f"socket:[{fields[9]}]")
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if any(os.readlink(fd) in sockets for fd in (proc / "fd").iterdir()):
                return int(proc.name)
        except OSError:
            continue  # gone, or not ours to read
    return None
