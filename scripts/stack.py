#!/usr/bin/env python3
"""Run a real Kafka broker and PostgreSQL server for development and tests, without Docker.

Usage: python scripts/stack.py up [kafka|postgres] | down [kafka|postgres] | status | env | exec -- CMD ARGS... | crash kafka|postgres

`crash` is for fault tests: kafka gets SIGKILL, postgres an immediate shutdown (no checkpoint,
crash recovery at the next start); `up` brings either back.

Kafka runs from Maven Central jars on the local JDK (KRaft, one node); PostgreSQL from the
Debian packages. Settings (environment, defaults in Config.from_env): STACK_DIR (data and logs,
default <repo>/.stack), STACK_HOST, KAFKA_VERSION, KAFKA_PORT, KAFKA_CONTROLLER_PORT, PG_PORT,
PG_USER, PG_PASSWORD, PG_DATABASES and STACK_TIMEOUT (seconds to wait for each server).
"""
from __future__ import annotations

import asyncio
import base64
import contextlib
import errno
import fcntl
import hashlib
import logging
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient

SCRIPTS = Path(__file__).resolve().parent
REPO = SCRIPTS.parent
SI_KERNEL = 0x80  # siginfo code of signals sent by the kernel itself, e.g. a terminal's Ctrl-C


class StackError(Exception):
    """A problem reported as one `stack: error:` line (exit code 2), never a traceback."""


@dataclass(frozen=True)
class Config:
    stack_dir: Path
    host: str
    kafka_version: str
    kafka_port: int
    controller_port: int
    pg_port: int
    pg_user: str
    pg_password: str
    pg_databases: tuple[str, ...]
    timeout: float

    @classmethod
    def from_env(cls) -> Config:
        env = os.environ.get
        try:
            return cls(
                stack_dir=Path(env("STACK_DIR", str(REPO / ".stack"))).resolve(),
                host=env("STACK_HOST", "127.0.0.1"),
                kafka_version=env("KAFKA_VERSION", "4.1.1"),
                kafka_port=int(env("KAFKA_PORT", "19092")),
                controller_port=int(env("KAFKA_CONTROLLER_PORT", "19093")),
                pg_port=int(env("PG_PORT", "15432")),
                pg_user=env("PG_USER", "fulfil"),
                pg_password=env("PG_PASSWORD", "fulfil"),
                pg_databases=tuple(env("PG_DATABASES", "inventory orders deadlines").split()),
                timeout=float(env("STACK_TIMEOUT", "120")),
            )
        except ValueError as exc:
            raise StackError(f"bad number in the environment: {exc}") from None

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.kafka_port}"

    def pg_url(self, database: str) -> str:
        auth = f"{quote(self.pg_user, safe='')}:{quote(self.pg_password, safe='')}"
        return f"postgresql://{auth}@{self.host}:{self.pg_port}/{database}"


# ---------------------------------------------------------------- helpers

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


@contextlib.contextmanager
def stack_lock(cfg: Config):
    """Serialise up/down so two commands never start the same server twice."""
    cfg.stack_dir.mkdir(parents=True, exist_ok=True)
    with open(cfg.stack_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


# ---------------------------------------------------------------- Kafka

def kafka_paths(cfg: Config) -> dict[str, Path]:
    base = cfg.stack_dir / "kafka"
    return {"base": base, "data": base / "data", "logs": base / "logs", "pid": base / "kafka.pid"}


def kafka_pid(cfg: Config) -> int | None:
    pid_file = kafka_paths(cfg)["pid"]
    with contextlib.suppress(OSError, ValueError):
        pid = int(pid_file.read_text())
        if process_alive(pid, "kafka.Kafka"):
            return pid
    return None


def java_command(cfg: Config, heap: str) -> list[str]:
    java = shutil.which("java")
    version = subprocess.run([java, "-version"], capture_output=True, text=True).stderr if java else ""
    match = re.search(r'version "(\d+)', version)
    if not match or int(match.group(1)) < 17:
        raise StackError("Kafka needs Java 17 or newer on PATH: install a JDK, e.g. "
                         "`apt-get install openjdk-17-jre-headless`")
    return [java, f"-Xmx{heap}", "-Xms256m", "-XX:+UseG1GC", "-Djava.awt.headless=true",
            f"-Dkafka.logs.dir={kafka_paths(cfg)['logs']}",
            f"-Dlog4j2.configurationFile={SCRIPTS / 'kafka' / 'log4j2.properties'}",
            "-cp", str(kafka_libs(cfg) / "*")]


def kafka_libs(cfg: Config) -> Path:
    """The broker's jars, fetched by Maven into a per-version folder on first use."""
    libs = cfg.stack_dir / "kafka-libs" / cfg.kafka_version
    if (libs / ".complete").exists():
        return libs
    if not shutil.which("mvn"):
        raise StackError("Maven is needed once to fetch Kafka's jars: install it, "
                         "e.g. `apt-get install maven`")
    say(f"kafka: resolving org.apache.kafka:kafka_2.13:{cfg.kafka_version} with Maven (first run only)...")
    started = time.monotonic()
    partial = libs.with_name(libs.name + ".partial")  # renamed only once complete
    shutil.rmtree(partial, ignore_errors=True)
    maven = subprocess.run(
        ["mvn", "-q", "-B", "-f", str(SCRIPTS / "kafka" / "pom.xml"), f"-Dkafka.version={cfg.kafka_version}",
         f"-DoutputDirectory={partial}", "dependency:copy-dependencies"],
        capture_output=True, text=True)
    if maven.returncode != 0:
        raise StackError(f"Maven could not resolve Kafka {cfg.kafka_version} (check KAFKA_VERSION and the "
                         f"network); last Maven lines:\n{tail(maven.stdout + maven.stderr)}")
    (partial / ".complete").touch()
    shutil.rmtree(libs, ignore_errors=True)
    partial.rename(libs)
    say(f"kafka: {len(list(libs.glob('*.jar')))} jars resolved in {time.monotonic() - started:.1f}s")
    return libs


def write_server_properties(cfg: Config) -> Path:
    paths = kafka_paths(cfg)
    settings = {
        "process.roles": "broker,controller",
        "node.id": 1,
        # A static voter set (rather than a formatted dynamic quorum) lets ports change between runs.
        "controller.quorum.voters": f"1@{cfg.host}:{cfg.controller_port}",
        "controller.listener.names": "CONTROLLER",
        "listeners": f"PLAINTEXT://{cfg.bootstrap},CONTROLLER://{cfg.host}:{cfg.controller_port}",
        "advertised.listeners": f"PLAINTEXT://{cfg.bootstrap}",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": paths["data"],
        "num.partitions": 3,
        "auto.create.topics.enable": "false",  # the services create their topics themselves
        # One broker: internal topics cannot have more replicas than that.
        "offsets.topic.replication.factor": 1,
        "transaction.state.log.replication.factor": 1,
        "transaction.state.log.min.isr": 1,
        "share.coordinator.state.topic.replication.factor": 1,
        "share.coordinator.state.topic.min.isr": 1,
        "group.initial.rebalance.delay.ms": 0,  # tests should not wait 3 s for every new group
    }
    properties = paths["base"] / "server.properties"
    properties.write_text("".join(f"{key}={value}\n" for key, value in settings.items()))
    return properties


def format_kafka_storage(cfg: Config, properties: Path) -> None:
    """Format the log directory once; the cluster id is kept so a wiped data dir re-forms the same cluster."""
    paths = kafka_paths(cfg)
    if (paths["data"] / "meta.properties").exists():
        return
    id_file = paths["base"] / "cluster-id"
    if not id_file.exists():
        cluster_id = "-"
        while cluster_id.startswith("-"):  # Kafka's own generator avoids ids that look like CLI flags
            cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        id_file.write_text(cluster_id)
    fmt = subprocess.run(
        java_command(cfg, "256m") + ["kafka.tools.StorageTool", "format", "-t", id_file.read_text().strip(),
                                     "-c", str(properties)],
        capture_output=True, text=True)
    if fmt.returncode != 0:
        raise StackError(f"formatting Kafka storage failed:\n{tail(fmt.stdout + fmt.stderr)}")


async def kafka_answers(bootstrap: str) -> bool:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    try:
        await admin.start()
        return bool((await admin.describe_cluster())["brokers"])
    except Exception:  # not up yet: any client error means "try again"
        return False
    finally:
        with contextlib.suppress(Exception):
            await admin.close()


def wait_for_kafka(cfg: Config, broker: subprocess.Popen) -> None:
    deadline = time.monotonic() + cfg.timeout
    while broker.poll() is None and time.monotonic() < deadline:
        if asyncio.run(kafka_answers(cfg.bootstrap)):
            return
        time.sleep(0.5)
    problem = "exited" if broker.poll() is not None else f"did not answer within {cfg.timeout:.0f}s"
    logs = kafka_paths(cfg)["logs"]
    raise StackError(f"Kafka {problem} on {cfg.bootstrap}; log tail:\n"
                     f"{log_tail(logs / 'server.log', logs / 'stdout.log')}")


def start_kafka(cfg: Config) -> bool:
    """Start the broker unless it runs; True if this call started it."""
    if pid := kafka_pid(cfg):
        say(f"kafka: already running (pid {pid}) on {cfg.bootstrap}")
        return False
    check_port_free(cfg.host, cfg.kafka_port, "KAFKA_PORT")
    check_port_free(cfg.host, cfg.controller_port, "KAFKA_CONTROLLER_PORT")
    paths = kafka_paths(cfg)
    for key in ("data", "logs"):
        paths[key].mkdir(parents=True, exist_ok=True)
    fresh_log(paths["logs"] / "server.log")
    properties = write_server_properties(cfg)
    format_kafka_storage(cfg, properties)
    started = time.monotonic()
    with open(paths["logs"] / "stdout.log", "wb") as out:
        # Own session: a Ctrl-C in the terminal that ran `up` must not reach the broker.
        broker = subprocess.Popen(java_command(cfg, "512m") + ["kafka.Kafka", str(properties)],
                                  stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                  cwd=paths["base"], start_new_session=True)
    paths["pid"].write_text(str(broker.pid))
    try:
        wait_for_kafka(cfg, broker)
    except BaseException:  # failed or interrupted: do not leave a half-started broker behind
        stop_kafka(cfg, quiet=True)
        raise
    say(f"kafka: started on {cfg.bootstrap} in {time.monotonic() - started:.1f}s (pid {broker.pid})")
    return True


def stop_kafka(cfg: Config, quiet: bool = False) -> None:
    pid = kafka_pid(cfg)
    if pid is None:
        if not quiet:
            say("kafka: not running")
    else:
        started = time.monotonic()
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)  # controlled shutdown flushes and closes the logs
        how = "stopped"
        if not wait_gone(pid, "kafka.Kafka", 60):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            wait_gone(pid, "kafka.Kafka", 10)
            how = "killed after 60s"
        if not quiet:
            say(f"kafka: {how} (pid {pid}) in {time.monotonic() - started:.1f}s")
    kafka_paths(cfg)["pid"].unlink(missing_ok=True)


# ---------------------------------------------------------------- PostgreSQL

def pg_bindir(data: Path | None = None) -> Path | None:
    """The newest installed server binaries, preferring the version that created `data`."""
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True,
                        key=lambda p: [int(n) for n in re.findall(r"\d+", p.parent.name)])
    if data and (data / "PG_VERSION").exists():
        candidates.insert(0, Path("/usr/lib/postgresql") / (data / "PG_VERSION").read_text().strip() / "bin")
    if shutil.which("pg_config"):  # a non-Debian layout
        bindir = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True).stdout.strip()
        candidates.append(Path(bindir))
    return next((d for d in candidates if (d / "initdb").exists() and (d / "pg_ctl").exists()), None)


def ensure_pg_installed() -> None:
    if pg_bindir():
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise StackError("PostgreSQL server binaries (initdb, pg_ctl) not found: install them, "
                         "e.g. `sudo apt-get install postgresql`")
    say("postgres: installing the Debian postgresql package (first run only)...")
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", "postgresql"]):
        result = subprocess.run(command, capture_output=True, text=True,
                                env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        if result.returncode != 0:
            raise StackError(f"`{' '.join(command)}` failed:\n{tail(result.stdout + result.stderr)}")
    if not pg_bindir():
        raise StackError("the postgresql package installed no initdb/pg_ctl under /usr/lib/postgresql")


def as_postgres(command: list) -> subprocess.CompletedProcess:
    """Run a command as the server's owner: PostgreSQL refuses to run as root."""
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    # cwd "/": the postgres user may not be allowed into the caller's working directory.
    return subprocess.run(prefix + [str(c) for c in command], cwd="/", capture_output=True, text=True)


def pg_root(cfg: Config) -> Path:
    """Where the cluster lives: under STACK_DIR, unless root runs us and `postgres` cannot reach it."""
    if os.geteuid() != 0:
        return cfg.stack_dir / "pg"
    cfg.stack_dir.mkdir(parents=True, exist_ok=True)
    if as_postgres(["test", "-x", cfg.stack_dir]).returncode == 0:
        return cfg.stack_dir / "pg"
    digest = hashlib.sha1(str(cfg.stack_dir).encode()).hexdigest()[:10]
    return Path("/var/tmp") / f"fulfilment-stack-{digest}" / "pg"


def pg_pid(root: Path) -> int | None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        pid = int((root / "data" / "postmaster.pid").read_text().split()[0])
        if process_alive(pid, "postgres"):
            return pid
    return None


def make_pg_dirs(root: Path) -> None:
    for directory in (root, root / "logs", root / "run"):
        directory.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(directory, "postgres", "postgres")
    (root / "run").chmod(0o700)  # the socket trusts local connections: keep other users out


def init_pg(cfg: Config, bindir: Path, root: Path) -> None:
    say(f"postgres: initialising a new cluster in {root / 'data'}")
    password_file = root / "password"
    password_file.write_text(cfg.pg_password + "\n")
    password_file.chmod(0o600)
    if os.geteuid() == 0:
        shutil.chown(password_file, "postgres", "postgres")
    try:
        result = as_postgres([bindir / "initdb", "-D", root / "data", "-U", cfg.pg_user,
                              f"--pwfile={password_file}", "--auth-host=scram-sha-256", "--auth-local=trust",
                              "-E", "UTF8", "--locale=C.UTF-8"])
    finally:
        password_file.unlink()
    if result.returncode != 0:
        raise StackError(f"initdb failed:\n{tail(result.stdout + result.stderr)}")
    # initdb only admits loopback over TCP; let a non-loopback STACK_HOST in too (password still required).
    with open(root / "data" / "pg_hba.conf", "a") as hba:
        hba.write("host all all all scram-sha-256\n")


def sql_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def setup_databases(cfg: Config, root: Path) -> None:
    """Sync the app user's password, create missing databases, then log in as the app would."""
    try:
        admin = await asyncpg.connect(host=str(root / "run"), port=cfg.pg_port, user=cfg.pg_user,
                                      database="postgres", timeout=10)
        try:
            password = "'" + cfg.pg_password.replace("'", "''") + "'"
            await admin.execute(f"ALTER ROLE {sql_ident(cfg.pg_user)} PASSWORD {password}")
            for name in cfg.pg_databases:
                if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                    await admin.execute(f"CREATE DATABASE {sql_ident(name)} OWNER {sql_ident(cfg.pg_user)}")
        finally:
            await admin.close()
        app = await asyncpg.connect(cfg.pg_url("postgres"), timeout=10)
        await app.close()
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        raise StackError(f"PostgreSQL at {cfg.host}:{cfg.pg_port} refused {cfg.pg_user}: {exc} (a cluster "
                         f"made with another PG_USER? remove {root} to re-create it)") from None


def start_pg(cfg: Config) -> bool:
    """Start the server unless it runs; True if this call started it."""
    ensure_pg_installed()
    root = pg_root(cfg)
    if pid := pg_pid(root):
        say(f"postgres: already running (pid {pid}) on {cfg.host}:{cfg.pg_port}")
        asyncio.run(setup_databases(cfg, root))
        return False
    check_port_free(cfg.host, cfg.pg_port, "PG_PORT")
    if not root.is_relative_to(cfg.stack_dir):
        say(f"postgres: user postgres cannot reach {cfg.stack_dir}; using {root}")
    make_pg_dirs(root)
    bindir = pg_bindir(root / "data")
    if not (root / "data" / "PG_VERSION").exists():
        init_pg(cfg, bindir, root)
    started = time.monotonic()
    options = (f"-c listen_addresses={shlex.quote(cfg.host)} -p {cfg.pg_port} -c max_connections=200 "
               f"-c unix_socket_directories={shlex.quote(str(root / 'run'))}")
    log = root / "logs" / "postgresql.log"
    fresh_log(log)
    result = as_postgres([bindir / "pg_ctl", "start", "-w", "-t", int(cfg.timeout), "-D", root / "data",
                          "-l", log, "-o", options])
    if result.returncode != 0:
        raise StackError(f"PostgreSQL did not start on {cfg.host}:{cfg.pg_port}; log tail:\n"
                         f"{log_tail(log)}\n{tail(result.stdout + result.stderr)}")
    asyncio.run(setup_databases(cfg, root))
    say(f"postgres: started on {cfg.host}:{cfg.pg_port} in {time.monotonic() - started:.1f}s "
        f"(pid {pg_pid(root)}; databases: {', '.join(cfg.pg_databases)})")
    return True


def stop_pg(cfg: Config) -> None:
    root = pg_root(cfg)
    pid = pg_pid(root)
    if pid is None:
        say("postgres: not running")
        return
    started = time.monotonic()
    pg_ctl = pg_bindir(root / "data") / "pg_ctl"
    result = as_postgres([pg_ctl, "stop", "-m", "fast", "-w", "-D", root / "data"])
    if result.returncode != 0:
        raise StackError(f"pg_ctl stop failed:\n{tail(result.stdout + result.stderr)}")
    say(f"postgres: stopped (pid {pid}) in {time.monotonic() - started:.1f}s")


# ---------------------------------------------------------------- faults

def crash(cfg: Config, name: str) -> None:
    """Stop a server the way a crash would, for fault tests; `up` restarts it."""
    if name == "kafka":
        pid = kafka_pid(cfg)
        if pid is None:
            raise StackError("kafka is not running")
        os.kill(pid, signal.SIGKILL)
        wait_gone(pid, "kafka.Kafka", 10)
        say(f"kafka: killed -9 (pid {pid})")
    elif name == "postgres":
        root = pg_root(cfg)
        pid = pg_pid(root)
        if pid is None:
            raise StackError("postgres is not running")
        result = as_postgres([pg_bindir(root / "data") / "pg_ctl", "stop", "-m", "immediate", "-w", "-D", root / "data"])
        if result.returncode != 0:
            raise StackError(f"pg_ctl stop -m immediate failed:\n{tail(result.stdout + result.stderr)}")
        say(f"postgres: stopped immediately (pid {pid}); it recovers at the next start")
    else:
        raise StackError(f"crash what? kafka or postgres, not {name!r}")


# ---------------------------------------------------------------- commands

def stack_env(cfg: Config) -> dict[str, str]:
    env = {"KAFKA_BOOTSTRAP_SERVERS": cfg.bootstrap, "POSTGRES_URL": cfg.pg_url("postgres")}
    env.update({f"{name.upper()}_DATABASE_URL": cfg.pg_url(name) for name in cfg.pg_databases})
    return env


SERVERS = ("kafka", "postgres")


def bring_up(cfg: Config, started: list[str], names: tuple[str, ...] = SERVERS) -> None:
    """Start the servers; names of the ones this call started are appended to `started` as it goes."""
    with stack_lock(cfg):
        if "kafka" in names and start_kafka(cfg):
            started.append("kafka")
        if "postgres" in names and start_pg(cfg):
            started.append("postgres")


def servers(args: list[str]) -> tuple[str, ...]:
    """The servers named on the command line (all when none is named)."""
    unknown = [a for a in args if a not in SERVERS]
    if unknown:
        raise StackError(f"unknown server {unknown[0]!r}: kafka or postgres")
    return tuple(args) or SERVERS


def bring_down(cfg: Config, names: tuple[str, ...] = SERVERS) -> None:
    with stack_lock(cfg):
        if "kafka" in names:
            stop_kafka(cfg)
        if "postgres" in names:
            stop_pg(cfg)


def status(cfg: Config) -> None:
    servers = (("kafka", kafka_pid(cfg), cfg.bootstrap),
               ("postgres", pg_pid(pg_root(cfg)), f"{cfg.host}:{cfg.pg_port}"))
    for name, pid, address in servers:
        say(f"{name}: running (pid {pid}) on {address}" if pid else f"{name}: stopped ({address})")


def run_child(command: list[str], env: dict[str, str]) -> int:
    """Run `command`, passing on SIGINT/SIGTERM, and return its exit code.

    The signals are received synchronously so their origin is known: a terminal's Ctrl-C already
    reached the child (it shares our process group), and a second copy would abort its clean-up.
    """
    forwarded = {signal.SIGINT, signal.SIGTERM}
    watched = forwarded | {signal.SIGCHLD}
    signal.pthread_sigmask(signal.SIG_BLOCK, watched)
    try:
        try:
            child = subprocess.Popen(command, env=env,
                                     preexec_fn=lambda: signal.pthread_sigmask(signal.SIG_UNBLOCK, watched))
        except OSError as exc:
            raise StackError(f"cannot run {command[0]}: {exc.strerror}") from None
        while child.poll() is None:
            info = signal.sigtimedwait(watched, 1.0)
            if info and info.si_signo in forwarded and info.si_code != SI_KERNEL:
                child.send_signal(info.si_signo)
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, watched)
    return child.returncode if child.returncode >= 0 else 128 - child.returncode


def exec_command(cfg: Config, command: list[str]) -> int:
    """Run `command` against the stack; stop afterwards only the servers started for it."""
    if not command:
        raise StackError("exec needs a command: stack.py exec -- CMD ARGS...")
    started: list[str] = []
    try:
        bring_up(cfg, started)
        return run_child(command, {**os.environ, **stack_env(cfg)})
    finally:
        if started:
            bring_down(cfg, tuple(started))


def main(argv: list[str]) -> int:
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # connection refusals while waiting are expected
    command, args = (argv[0], argv[1:]) if argv else ("", [])
    try:
        cfg = Config.from_env()
        if command == "up":
            bring_up(cfg, [], servers(args))
        elif command == "down":
            bring_down(cfg, servers(args))
        elif command == "status":
            status(cfg)
        elif command == "env":
            say("\n".join(f"export {key}={shlex.quote(value)}" for key, value in stack_env(cfg).items()))
        elif command == "exec":
            return exec_command(cfg, args[1:] if args[:1] == ["--"] else args)
        elif command == "crash" and len(args) == 1:
            with stack_lock(cfg):
                crash(cfg, args[0])
        else:
            print(__doc__.strip().splitlines()[2], file=sys.stderr)
            return 2
    except StackError as exc:
        print(f"stack: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
