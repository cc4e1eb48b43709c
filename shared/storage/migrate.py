"""A small versioned-migration runner: numbered .sql files applied once, in order, each in a transaction.

Migrations come in named sets (the shared outbox/inbox tables, then the service's own), so each set
numbers its files independently. An applied file whose text changed is an error, not a silent skip.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

SHARED_MIGRATIONS = Path(__file__).parent / "migrations"
_FILE = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Migration:
    component: str
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load(component: str, folder: Path) -> list[Migration]:
    found = []
    for path in sorted(folder.glob("*.sql")):
        match = _FILE.match(path.name)
        if not match:
            raise MigrationError(f"{path}: migration files are named NNNN_lower_snake.sql")
        found.append(Migration(component, int(match.group(1)), path.name, path.read_text()))
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise MigrationError(f"{folder}: versions must run 1, 2, 3… without gaps, found {versions}")
    return found


async def apply(conn: asyncpg.Connection, migrations: list[Migration]) -> list[str]:
    """Apply what is not applied yet; returns the names applied. Safe to run from several processes."""
    applied_now = []
    async with conn.transaction():
        # One migrator at a time per database; the others wait, then find nothing to do.
        await conn.execute("select pg_advisory_xact_lock(hashtext('schema_migrations'))")
        await conn.execute(
            """create table if not exists schema_migrations (
                   component text not null,
                   version int not null,
                   name text not null,
                   checksum text not null,
                   applied_at timestamptz not null default now(),
                   primary key (component, version))"""
        )
        rows = await conn.fetch("select component, version, name, checksum from schema_migrations")
        done = {(r["component"], r["version"]): r for r in rows}
        for migration in migrations:
            row = done.get((migration.component, migration.version))
            if row is not None:
                if row["checksum"] != migration.checksum:
                    raise MigrationError(
                        f"{migration.component}/{migration.name} changed after it was applied; "
                        "add a new migration instead of editing an applied one"
                    )
                continue
            await conn.execute(migration.sql)
            await conn.execute(
                "insert into schema_migrations (component, version, name, checksum) values ($1, $2, $3, $4)",
                migration.component,
                migration.version,
                migration.name,
                migration.checksum,
            )
            applied_now.append(f"{migration.component}/{migration.name}")
    return applied_now


async def migrate(conn: asyncpg.Connection, service: str, service_folder: Path) -> list[str]:
    return await apply(conn, load("shared", SHARED_MIGRATIONS) + load(service, service_folder))
