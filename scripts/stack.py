#!/usr/bin/env python3
"""Run a real Kafka broker and PostgreSQL server for development and tests, without Docker.

Usage: python scripts/stack.py up [kafka|postgres] | down [kafka|postgres] | status | env [PRINCIPAL] | exec -- CMD ARGS... | crash kafka|postgres | reset

`crash` is for fault tests: kafka gets SIGKILL, postgres an immediate shutdown (no checkpoint,
crash recovery at the next start); `up` brings either back. `reset` stops both and deletes their
data (not the downloaded jars).

STACK_SECURE=1 makes a secured stack (docs/operations.md): Kafka on SASL_SSL with SCRAM users and
the standard authorizer, each principal granted only what the topic registry gives it
(shared/messaging/acls.py), and PostgreSQL with one role per database that may reach only its own;
`env PRINCIPAL` prints one principal's credentials.

Kafka runs from Maven Central jars on the local JDK (KRaft, one node); PostgreSQL from the
Debian packages. Settings (environment, defaults in Config.from_env): STACK_DIR (data and logs,
default <repo>/.stack), STACK_HOST, KAFKA_VERSION, KAFKA_PORT, KAFKA_CONTROLLER_PORT, PG_PORT,
PG_USER, PG_PASSWORD, PG_DATABASES, STACK_TIMEOUT (seconds to wait for each server), STACK_SECURE and
KAFKA_LIBS_DIR (Kafka's jars, default <STACK_DIR>/kafka-libs).
"""
from __future__ import annotations

import asyncio
import base64
import contextlib
import errno
import fcntl
import hashlib
import ipaddress
import json
import logging
import os
import re
import secrets
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
from kafka.admin import (
    ACL,
    ACLFilter,
    ACLOperation,
    ACLPermissionType,
    ACLResourcePatternType,
    KafkaAdminClient,
    ResourcePattern,
    ResourcePatternFilter,
    ResourceType,
    UserScramCredentialUpsertion,
)
from kafka.errors import KafkaError

from shared.messaging.acls import ADMIN, PRINCIPALS, Grant, grants
from shared.messaging.admin import BrokerUnavailable, TopicsUnavailable, ensure_topics
from shared.messaging.security import aiokafka_options
from shared.settings import KafkaSecurity

SCRIPTS = Path(__file__).resolve().parent
REPO = SCRIPTS.parent
SI_KERNEL = 0x80  # siginfo code of signals sent by the kernel itself, e.g. a terminal's Ctrl-C


class StackError(Exception):
    """A problem reported as one `stack: error:` line (exit code 2), never a traceback."""


@dataclass(frozen=True)
class Config:
    stack_dir: Path
    libs_dir: Path  # Kafka's jars, one folder per version: several stacks may share them
    host: str
    kafka_version: str
    kafka_port: int
    controller_port: int
    pg_port: int
    pg_user: str
    pg_password: str
    pg_databases: tuple[str, ...]
    timeout: float
    secure: bool

    @classmethod
    def from_env(cls) -> Config:
        env = os.environ.get
        stack_dir = Path(env("STACK_DIR", str(REPO / ".stack"))).resolve()
        try:
            return cls(
                stack_dir=stack_dir,
                libs_dir=Path(env("KAFKA_LIBS_DIR", str(stack_dir / "kafka-libs"))).resolve(),
                host=env("STACK_HOST", "127.0.0.1"),
                kafka_version=env("KAFKA_VERSION", "4.1.1"),
                kafka_port=int(env("KAFKA_PORT", "19092")),
                controller_port=int(env("KAFKA_CONTROLLER_PORT", "19093")),
                pg_port=int(env("PG_PORT", "15432")),
                pg_user=env("PG_USER", "fulfil"),
                pg_password=env("PG_PASSWORD", "fulfil"),
                pg_databases=tuple(env("PG_DATABASES", "inventory orders deadlines portal").split()),
                timeout=float(env("STACK_TIMEOUT", "120")),
                secure=flag("STACK_SECURE"),
            )
        except ValueError as exc:
            raise StackError(f"bad number in the environment: {exc}") from None

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.kafka_port}"

    def pg_url(self, database: str, user: str | None = None, password: str | None = None) -> str:
        """A URL for `database`, as the administrative PG_USER unless another role is given."""
        user, password = (user, password) if user else (self.pg_user, self.pg_password)
        auth = f"{quote(user, safe='')}:{quote(password or '', safe='')}"
        return f"postgresql://{auth}@{self.host}:{self.pg_port}/{database}"


def flag(variable: str) -> bool:
    value = os.environ.get(variable, "").strip().lower()
    if value in ("", "0", "false", "no"):
        return False
    if value in ("1", "true", "yes"):
        return True
    raise StackError(f"{variable} must be 1 or 0 (true/false, yes/no), not {value!r}")


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


# A one-shot Java tool (storage format, keytool) starts twice as fast without the optimising compiler.
QUICK_JVM = ("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1")


def java_command(cfg: Config, heap: str, quick: bool = False) -> list[str]:
    java = shutil.which("java")
    version = subprocess.run([java, "-version"], capture_output=True, text=True).stderr if java else ""
    match = re.search(r'version "(\d+)', version)
    if not match or int(match.group(1)) < 17:
        raise StackError("Kafka needs Java 17 or newer on PATH: install a JDK, e.g. "
                         "`apt-get install openjdk-17-jre-headless`")
    return [java, f"-Xmx{heap}", "-Xms256m", *(QUICK_JVM if quick else ["-XX:+UseG1GC"]), "-Djava.awt.headless=true",
            f"-Dkafka.logs.dir={kafka_paths(cfg)['logs']}",
            f"-Dlog4j2.configurationFile={SCRIPTS / 'kafka' / 'log4j2.properties'}",
            "-cp", str(kafka_libs(cfg) / "*")]


def kafka_libs(cfg: Config) -> Path:
    """The broker's jars, fetched by Maven into a per-version folder on first use."""
    libs = cfg.libs_dir / cfg.kafka_version
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
        **(secured_listeners(cfg) if cfg.secure else {}),
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
    properties.touch(mode=0o600)  # a secured broker's file holds passwords
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
    # A secured broker admits only SCRAM users, and its first one must exist before it starts: the
    # format step writes the admin's credential into the metadata log (the others are added later).
    scram = ["--add-scram", f"{MECHANISM}=[name={ADMIN},password={credentials(cfg)['kafka'][ADMIN]}]"] if cfg.secure else []
    fmt = subprocess.run(
        java_command(cfg, "256m", quick=True) + ["kafka.tools.StorageTool", "format", "-t", id_file.read_text().strip(),
                                     "-c", str(properties), *scram],
        capture_output=True, text=True)
    if fmt.returncode != 0:
        raise StackError(f"formatting Kafka storage failed:\n{tail(fmt.stdout + fmt.stderr)}")


async def kafka_answers(cfg: Config) -> bool:
    security = aiokafka_options(kafka_security(cfg, ADMIN)) if cfg.secure else {}
    admin = AIOKafkaAdminClient(bootstrap_servers=cfg.bootstrap, request_timeout_ms=5000, **security)
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
        if asyncio.run(kafka_answers(cfg)):
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
    if cfg.secure:
        make_tls(cfg)
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
    """Sync the app user's password, create missing databases, then log in as the app would.

    Secured, each database belongs to a role of its own name that may reach no other database."""
    roles = credentials(cfg)["postgres"] if cfg.secure else {}
    try:
        admin = await asyncpg.connect(host=str(root / "run"), port=cfg.pg_port, user=cfg.pg_user,
                                      database="postgres", timeout=10)
        try:
            password = "'" + cfg.pg_password.replace("'", "''") + "'"
            await admin.execute(f"ALTER ROLE {sql_ident(cfg.pg_user)} PASSWORD {password}")
            for name in cfg.pg_databases:
                owner = name if cfg.secure else cfg.pg_user
                if cfg.secure:
                    await ensure_role(admin, name, roles[name])
                if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                    await admin.execute(f"CREATE DATABASE {sql_ident(name)} OWNER {sql_ident(owner)}")
                if cfg.secure:
                    # PUBLIC (every role) may connect to every database by default: only the owner may here.
                    await admin.execute(f"REVOKE ALL ON DATABASE {sql_ident(name)} FROM PUBLIC")
        finally:
            await admin.close()
        for url in [cfg.pg_url("postgres"), *(cfg.pg_url(name, name, roles[name]) for name in roles)]:
            app = await asyncpg.connect(url, timeout=10)
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


# ---------------------------------------------------------------- security (STACK_SECURE=1)

MECHANISM = "SCRAM-SHA-512"
BROKER_PRINCIPAL = "CN=kafka-broker"  # the subject of the broker's certificate: its identity towards the controller


def secrets_dir(cfg: Config) -> Path:
    return cfg.stack_dir / "secrets"


def credentials(cfg: Config) -> dict[str, dict[str, str]]:
    """The stack's passwords, made at random once and kept in secrets/credentials.json (mode 600).

    A principal or database added since (a new service in the registry) gets its password on the next `up`.
    """
    path = secrets_dir(cfg) / "credentials.json"
    stored = json.loads(path.read_text()) if path.exists() else {}
    wanted = {"kafka": (ADMIN, *PRINCIPALS), "postgres": cfg.pg_databases, "tls": ("keystore",)}
    missing = [(kind, name) for kind, names in wanted.items() for name in names if name not in stored.get(kind, {})]
    for kind, name in missing:
        stored.setdefault(kind, {})[name] = secrets.token_hex(16)  # hex: safe in SCRAM, JAAS and URL syntax
    if missing:
        secrets_dir(cfg).mkdir(mode=0o700, parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(json.dumps(stored, indent=2))
    return stored


def tls_paths(cfg: Config) -> tuple[Path, Path]:
    """The broker's keystore (PKCS12) and the CA certificate clients trust (PEM)."""
    return secrets_dir(cfg) / "broker.p12", secrets_dir(cfg) / "ca.pem"


def make_tls(cfg: Config) -> None:
    """The broker's key and certificate, signed by a throwaway CA whose key is deleted at once: clients
    trust the CA's certificate (KAFKA_SSL_CAFILE), and nothing else can ever be signed with it."""
    keystore, ca = tls_paths(cfg)
    if keystore.exists() and ca.exists():
        return
    java = shutil.which("java")
    keytool = shutil.which("keytool") or (java and str(Path(java).resolve().with_name("keytool")))
    if not keytool or not Path(keytool).exists():
        raise StackError("the secured stack needs keytool (part of every JDK and JRE) on PATH: install one, "
                         "e.g. `apt-get install openjdk-17-jre-headless`")
    password = credentials(cfg)["tls"]["keystore"]
    work = keystore.with_name("broker.partial.p12")  # renamed only once complete
    work.unlink(missing_ok=True)
    store = ["-keystore", str(work), "-storetype", "PKCS12", "-storepass", password]
    ec = ["-keyalg", "EC", "-groupname", "secp256r1", "-validity", "3650"]
    try:
        name = f"ip:{ipaddress.ip_address(cfg.host)}"
    except ValueError:
        name = f"dns:{cfg.host}"
    steps = (
        ["-genkeypair", "-alias", "ca", "-dname", "CN=fulfilment stack CA", "-ext", "bc:c", *ec],
        ["-genkeypair", "-alias", "broker", "-dname", BROKER_PRINCIPAL, "-signer", "ca", "-signerkeypass", password,
         "-ext", f"SAN={name},dns:localhost", *ec],
        ["-exportcert", "-rfc", "-alias", "ca", "-file", str(ca)],
        ["-delete", "-alias", "ca"],
    )
    for step in steps:
        result = subprocess.run([keytool, *(f"-J{option}" for option in QUICK_JVM), *step, *store], capture_output=True, text=True)
        if result.returncode != 0:
            raise StackError(f"keytool {step[0]} failed:\n{tail(result.stdout + result.stderr)}")
    work.chmod(0o600)
    work.rename(keystore)
    say(f"kafka: TLS key and certificate for {cfg.host} made in {keystore.parent} (CA: {ca.name})")


def secured_listeners(cfg: Config) -> dict[str, object]:
    """Clients on SASL_SSL with SCRAM users; mutual TLS between the broker and its controller, because SCRAM
    users live in the metadata the controller serves and so cannot authenticate the broker to it."""
    keystore, ca = tls_paths(cfg)
    passwords = credentials(cfg)
    login = f'username="{ADMIN}" password="{passwords["kafka"][ADMIN]}"'  # the broker's own SASL login
    return {
        "listeners": f"SASL_SSL://{cfg.bootstrap},CONTROLLER://{cfg.host}:{cfg.controller_port}",
        "advertised.listeners": f"SASL_SSL://{cfg.bootstrap}",
        "inter.broker.listener.name": "SASL_SSL",
        "listener.security.protocol.map": "SASL_SSL:SASL_SSL,CONTROLLER:SSL",
        "sasl.enabled.mechanisms": MECHANISM,
        "sasl.mechanism.inter.broker.protocol": MECHANISM,
        f"listener.name.sasl_ssl.{MECHANISM.lower()}.sasl.jaas.config":
            f"org.apache.kafka.common.security.scram.ScramLoginModule required {login};",
        "ssl.keystore.type": "PKCS12",
        "ssl.keystore.location": keystore,
        "ssl.keystore.password": passwords["tls"]["keystore"],
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": ca,
        "listener.name.controller.ssl.client.auth": "required",
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "super.users": f"User:{ADMIN};User:{BROKER_PRINCIPAL}",  # no ACL applies to these two
    }


def principal_env(cfg: Config, principal: str) -> dict[str, str]:
    """What one principal needs to reach the secured stack: its Kafka credentials and, for a service, its database."""
    passwords = credentials(cfg)
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": cfg.bootstrap,
        "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "KAFKA_SASL_MECHANISM": MECHANISM,
        "KAFKA_SASL_USERNAME": principal,
        "KAFKA_SASL_PASSWORD": passwords["kafka"][principal],
        "KAFKA_SSL_CAFILE": str(tls_paths(cfg)[1]),
    }
    if principal in cfg.pg_databases:
        env["DATABASE_URL"] = cfg.pg_url(principal, principal, passwords["postgres"][principal])
    return env


def kafka_security(cfg: Config, principal: str) -> KafkaSecurity:
    env = principal_env(cfg, principal)
    return KafkaSecurity(**{key.lower(): value for key, value in env.items() if key.startswith("KAFKA_") and key != "KAFKA_BOOTSTRAP_SERVERS"},
                         kafka_ssl_certfile=None, kafka_ssl_keyfile=None)


def kafka_acl(grant: Grant) -> ACL:
    pattern = ACLResourcePatternType.PREFIXED if grant.prefixed else ACLResourcePatternType.LITERAL
    operation = {"Read": ACLOperation.READ, "Write": ACLOperation.WRITE, "DescribeConfigs": ACLOperation.DESCRIBE_CONFIGS}[grant.operation]
    return ACL(principal=f"User:{grant.principal}", host="*", operation=operation,
               permission_type=ACLPermissionType.ALLOW,
               resource_pattern=ResourcePattern(ResourceType[grant.resource.upper()], grant.name, pattern))


def sync_acls(admin: KafkaAdminClient, wanted: set[ACL]) -> tuple[int, int]:
    """Make the broker's ACLs exactly `wanted`: a grant the registry no longer gives is taken back."""
    everything = ACLFilter(principal=None, host=None, operation=ACLOperation.ANY, permission_type=ACLPermissionType.ANY,
                           resource_pattern=ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY))
    present, _ = admin.describe_acls(everything)
    stale = [acl for acl in present if acl not in wanted]
    new = [acl for acl in wanted if acl not in set(present)]
    if stale:
        errors = [error for _, _, error in admin.delete_acls(stale) if error.errno]
        if errors:
            raise StackError(f"removing stale Kafka ACLs failed: {errors[0].__name__}")
    if new and (failed := admin.create_acls(new)["failed"]):
        raise StackError(f"adding Kafka ACLs failed: {failed[0].__name__}")
    return len(new), len(stale)


def provision_kafka(cfg: Config) -> None:
    """As the admin: a SCRAM user per principal, the registry's topics, and exactly the registry's grants.
    Idempotent, at every `up`, so a topic or service added to the registry is provided for."""
    passwords = credentials(cfg)["kafka"]
    admin = KafkaAdminClient(bootstrap_servers=cfg.bootstrap, client_id="stack-admin", security_protocol="SASL_SSL",
                             sasl_mechanism=MECHANISM, sasl_plain_username=ADMIN, sasl_plain_password=passwords[ADMIN],
                             ssl_cafile=str(tls_paths(cfg)[1]))
    try:
        known = admin.describe_user_scram_credentials()
        users = [UserScramCredentialUpsertion(p, MECHANISM, passwords[p]) for p in PRINCIPALS if p not in known]
        if users and (failed := {user: error for user, error in admin.alter_user_scram_credentials(users).items() if error}):
            raise StackError(f"creating SCRAM users failed: {failed}")
        asyncio.run(ensure_topics(cfg.bootstrap, security=kafka_security(cfg, ADMIN), timeout=cfg.timeout))
        added, removed = sync_acls(admin, {kafka_acl(g) for g in grants()})
    except (KafkaError, BrokerUnavailable, TopicsUnavailable) as exc:
        raise StackError(f"setting up Kafka's users, topics and grants failed: {exc}") from None
    finally:
        admin.close()
    say(f"kafka: {len(PRINCIPALS)} SCRAM users, topics and {len(grants())} ACLs as the topic registry says "
        f"({len(users)} users and {added} ACLs added, {removed} ACLs removed)")


async def ensure_role(admin: asyncpg.Connection, role: str, password: str) -> None:
    """A login role without any special rights (not superuser, may not create databases or roles)."""
    literal = "'" + password.replace("'", "''") + "'"
    exists = await admin.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
    await admin.execute(f"{'ALTER' if exists else 'CREATE'} ROLE {sql_ident(role)} LOGIN PASSWORD {literal}")


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
    """The servers' addresses and the administrator's credentials (secured: Kafka's admin, PostgreSQL's PG_USER)."""
    env = {"KAFKA_BOOTSTRAP_SERVERS": cfg.bootstrap, "POSTGRES_URL": cfg.pg_url("postgres")}
    if cfg.secure:
        env.update(principal_env(cfg, ADMIN))
        roles = credentials(cfg)["postgres"]
        env.update({f"{name.upper()}_DATABASE_URL": cfg.pg_url(name, name, roles[name]) for name in cfg.pg_databases})
    else:
        env.update({f"{name.upper()}_DATABASE_URL": cfg.pg_url(name) for name in cfg.pg_databases})
    return env


def env_of(cfg: Config, principal: str | None) -> dict[str, str]:
    """`env [PRINCIPAL]`: the stack's variables, or one principal's of a secured stack."""
    if principal is not None and not cfg.secure:
        raise StackError(f"`env {principal}` is for a secured stack: set STACK_SECURE=1")
    if principal is not None and principal not in (ADMIN, *PRINCIPALS):
        raise StackError(f"no principal {principal!r}: one of {', '.join((ADMIN, *PRINCIPALS))}")
    if cfg.secure and recorded_mode(cfg) != "secured":
        raise StackError(f"no secured stack in {cfg.stack_dir} yet: `STACK_SECURE=1 stack.py up` makes one")
    return stack_env(cfg) if principal is None else principal_env(cfg, principal)


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
    for client in ("aiokafka", "kafka"):  # connection refusals while waiting are expected
        logging.getLogger(client).setLevel(logging.CRITICAL)
    command, args = (argv[0], argv[1:]) if argv else ("", [])
    try:
        cfg = Config.from_env()
        if command == "up":
            bring_up(cfg, [], servers(args))
        elif command == "down":
            bring_down(cfg, servers(args))
        elif command == "status":
            status(cfg)
        elif command == "env" and len(args) <= 1:
            env = env_of(cfg, args[0] if args else None)
            say("\n".join(f"export {key}={shlex.quote(value)}" for key, value in env.items()))
        elif command == "exec":
            return exec_command(cfg, args[1:] if args[:1] == ["--"] else args)
        elif command == "reset" and not args:
            reset(cfg)
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
