"""What the stack gives the programs that use it: the variables that point them at its servers
(`env`), and a command run against it (`exec`), which starts what is not running and afterwards
stops only what it started."""
from __future__ import annotations

import os
import signal
import subprocess

from shared.messaging.acls import ADMIN, PRINCIPALS

from .common import StackError
from .config import Config
from .lifecycle import bring_down, bring_up, recorded_mode
from .secured import credentials, principal_env

SI_KERNEL = 0x80  # siginfo code of signals sent by the kernel itself, e.g. a terminal's Ctrl-C


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
