"""The stack's settings, read once from the environment (the variables are listed in scripts/stack.py).

A bad value ends the command with one `stack: error:` line, so it is checked here, before any server
is touched."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from .common import StackError

SCRIPTS = Path(__file__).resolve().parents[1]  # scripts/: Kafka's pom.xml and log4j2 settings live there
REPO = SCRIPTS.parent


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
