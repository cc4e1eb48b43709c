"""Starting, stopping, crashing and deleting the servers of one STACK_DIR, as `up`, `down`, `crash`,
`reset` and `status` do.

Every command that starts or stops a server holds the directory's lock, so two commands (say, two
`make test` runs sharing a stack) never start the same server twice. A directory holds a plaintext
or a secured stack for good, recorded in STACK_DIR/mode."""
from __future__ import annotations

import contextlib
import fcntl
import shutil

from .common import StackError, say
from .config import Config
from .kafka import crash_kafka, kafka_paths, kafka_pid, start_kafka, stop_kafka
from .postgres import crash_postgres, pg_pid, pg_root, start_pg, stop_pg
from .provision import provision_kafka
from .secured import secrets_dir


@contextlib.contextmanager
def stack_lock(cfg: Config):
    """Serialise up/down so two commands never start the same server twice."""
    cfg.stack_dir.mkdir(parents=True, exist_ok=True)
    with open(cfg.stack_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def recorded_mode(cfg: Config) -> str | None:
    """"plaintext" or "secured" once a stack was made in STACK_DIR, else None."""
    marker = cfg.stack_dir / "mode"
    if marker.exists():
        return marker.read_text().strip()
    if (kafka_paths(cfg)["data"] / "meta.properties").exists() or (pg_root(cfg) / "data" / "PG_VERSION").exists():
        return "plaintext"  # made before stacks could be secured
    return None


def check_mode(cfg: Config) -> None:
    """A STACK_DIR holds a plaintext or a secured stack for good: switching would leave, say, a broker without users."""
    wanted = "secured" if cfg.secure else "plaintext"
    have = recorded_mode(cfg) or wanted
    if have != wanted:
        raise StackError(f"{cfg.stack_dir} holds a {have} stack and STACK_SECURE asks for a {wanted} one: use another "
                         f"STACK_DIR, or `stack.py reset` to delete this one's data")
    cfg.stack_dir.mkdir(parents=True, exist_ok=True)
    (cfg.stack_dir / "mode").write_text(wanted + "\n")


def crash(cfg: Config, name: str) -> None:
    """Stop a server the way a crash would, for fault tests; `up` restarts it."""
    with stack_lock(cfg):
        if name == "kafka":
            crash_kafka(cfg)
        elif name == "postgres":
            crash_postgres(cfg)
        else:
            raise StackError(f"crash what? kafka or postgres, not {name!r}")


SERVERS = ("kafka", "postgres")


def bring_up(cfg: Config, started: list[str], names: tuple[str, ...] = SERVERS) -> None:
    """Start the servers; names of the ones this call started are appended to `started` as it goes."""
    with stack_lock(cfg):
        check_mode(cfg)
        if "kafka" in names and start_kafka(cfg):
            started.append("kafka")
        if "kafka" in names and cfg.secure:
            provision_kafka(cfg)
        if "postgres" in names and start_pg(cfg):
            started.append("postgres")


def bring_down(cfg: Config, names: tuple[str, ...] = SERVERS) -> None:
    with stack_lock(cfg):
        if "kafka" in names:
            stop_kafka(cfg)
        if "postgres" in names:
            stop_pg(cfg)


def reset(cfg: Config) -> None:
    """Stop both servers and delete their data, TLS material and passwords; the downloaded jars stay."""
    with stack_lock(cfg):
        stop_kafka(cfg)
        stop_pg(cfg)
        for path in (kafka_paths(cfg)["base"], pg_root(cfg), secrets_dir(cfg)):
            shutil.rmtree(path, ignore_errors=True)
        (cfg.stack_dir / "mode").unlink(missing_ok=True)
    say(f"stack: data in {cfg.stack_dir} deleted")


def status(cfg: Config) -> None:
    servers = (("kafka", kafka_pid(cfg), cfg.bootstrap),
               ("postgres", pg_pid(pg_root(cfg)), f"{cfg.host}:{cfg.pg_port}"))
    for name, pid, address in servers:
        say(f"{name}: running (pid {pid}) on {address}" if pid else f"{name}: stopped ({address})")
