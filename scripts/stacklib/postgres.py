"""The PostgreSQL server: a cluster run by the distribution's binaries (Debian's postgresql package,
installed on first use when we run as root), initialised under STACK_DIR, started and stopped with
pg_ctl, and its databases. As root, its commands run as the `postgres` user (PostgreSQL refuses root).

Plaintext, PG_USER owns every database in PG_DATABASES; secured, each database belongs to a login
role of its own name that may reach no other (its password from secured.py). PG_USER stays the
administrator either way."""
from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import shlex
import shutil
import subprocess
import time
from pathlib import Path

import asyncpg

from .common import StackError, check_port_free, fresh_log, log_tail, process_alive, say, tail
from .config import Config
from .secured import credentials


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


async def ensure_role(admin: asyncpg.Connection, role: str, password: str) -> None:
    """A login role without any special rights (not superuser, may not create databases or roles)."""
    literal = "'" + password.replace("'", "''") + "'"
    exists = await admin.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
    await admin.execute(f"{'ALTER' if exists else 'CREATE'} ROLE {sql_ident(role)} LOGIN PASSWORD {literal}")


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
    try:
        result = as_postgres([bindir / "pg_ctl", "start", "-w", "-t", int(cfg.timeout), "-D", root / "data",
                              "-l", log, "-o", options])
        if result.returncode != 0:
            raise StackError(f"PostgreSQL did not start on {cfg.host}:{cfg.pg_port}; log tail:\n"
                             f"{log_tail(log)}\n{tail(result.stdout + result.stderr)}")
        asyncio.run(setup_databases(cfg, root))
    except BaseException:  # failed or interrupted: do not leave a half-started server behind
        if pg_pid(root):
            with contextlib.suppress(StackError):
                stop_pg(cfg)
        raise
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


def crash_postgres(cfg: Config) -> None:
    """An immediate shutdown: no checkpoint, so the next start runs crash recovery."""
    root = pg_root(cfg)
    pid = pg_pid(root)
    if pid is None:
        raise StackError("postgres is not running")
    result = as_postgres([pg_bindir(root / "data") / "pg_ctl", "stop", "-m", "immediate", "-w", "-D", root / "data"])
    if result.returncode != 0:
        raise StackError(f"pg_ctl stop -m immediate failed:\n{tail(result.stdout + result.stderr)}")
    say(f"postgres: stopped immediately (pid {pid}); it recovers at the next start")
