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
Debian packages. Settings (environment, defaults in stacklib/config.py): STACK_DIR (data and logs,
default <repo>/.stack), STACK_HOST, KAFKA_VERSION, KAFKA_PORT, KAFKA_CONTROLLER_PORT, PG_PORT,
PG_USER, PG_PASSWORD, PG_DATABASES, STACK_TIMEOUT (seconds to wait for each server), STACK_SECURE and
KAFKA_LIBS_DIR (Kafka's jars, default <STACK_DIR>/kafka-libs).

This file only reads the command line; the work is done by the package beside it, stacklib/
(its __init__.py says which module does what).
"""
from __future__ import annotations

import logging
import shlex
import signal
import sys
from types import FrameType

from stacklib.clients import env_of, exec_command
from stacklib.common import StackError, say
from stacklib.config import Config
from stacklib.lifecycle import SERVERS, bring_down, bring_up, crash, reset, status


def servers(args: list[str]) -> tuple[str, ...]:
    """The servers named on the command line (all when none is named)."""
    unknown = [a for a in args if a not in SERVERS]
    if unknown:
        raise StackError(f"unknown server {unknown[0]!r}: kafka or postgres")
    return tuple(args) or SERVERS


def terminated(signum: int, _frame: FrameType | None) -> None:
    """SIGTERM unwinds like Ctrl-C: a server half-started is stopped, and `exec` stops what it started."""
    raise SystemExit(128 + signum)


def main(argv: list[str]) -> int:
    for client in ("aiokafka", "kafka"):  # connection refusals while waiting are expected
        logging.getLogger(client).setLevel(logging.CRITICAL)
    signal.signal(signal.SIGTERM, terminated)
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
