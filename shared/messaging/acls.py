"""Who may do what on Kafka, derived from the topic registry: least privilege for every principal.

One principal per service (the seller portal included) and one per outside client (storefronts, the seller gateway). Each may
write the topics whose `writers` name it, read those whose `read_by` or `outside_readers` name it,
and use the consumer groups under its own name (`<prefix><principal>.`, the pattern of
`consumer_group`). A service may also read the configuration of the topics it reads: it checks at
start-up that its bookkeeping outlasts their retention (shared/runtime.py). Nothing else: no Create,
no cluster rights; an administrator creates the topics. Read and Write imply Describe in Kafka's
authorizer, and Write on a topic is all the idempotent producer needs (KIP-679).

The local stack applies these grants (`scripts/stack.py` with STACK_SECURE=1) and
docs/operations.md shows them: `python -m shared.messaging.acls` prints that table, or with
`--commands` the `kafka-acls.sh` lines a deployment runs.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from typing import Literal

from shared.contracts.topics import ALL_TOPICS, CLIENTS, PROCESSES

# The super user that creates topics and grants: only the stack (or an operator) uses it.
ADMIN = "admin"
PRINCIPALS: tuple[str, ...] = PROCESSES + CLIENTS


@dataclass(frozen=True)
class Grant:
    """One allow rule: `principal` may `operation` the topic or group `name` (every name starting
    with it, when `prefixed`)."""

    principal: str
    operation: Literal["Read", "Write", "DescribeConfigs"]
    resource: Literal["topic", "group"]
    name: str
    prefixed: bool = False


def grants_of(principal: str, prefix: str = "") -> tuple[Grant, ...]:
    writes = [Grant(principal, "Write", "topic", prefix + t.name) for t in ALL_TOPICS if principal in t.writers]
    reads = [Grant(principal, "Read", "topic", prefix + t.name) for t in ALL_TOPICS if principal in t.read_by + t.outside_readers]
    configs = [Grant(principal, "DescribeConfigs", "topic", g.name) for g in reads] if principal in PROCESSES else []
    groups = [Grant(principal, "Read", "group", f"{prefix}{principal}.", prefixed=True)] if reads else []
    return (*writes, *reads, *configs, *groups)


def grants(prefix: str = "") -> tuple[Grant, ...]:
    """Every principal's grants, in registry order."""
    return tuple(g for principal in PRINCIPALS for g in grants_of(principal, prefix))


def markdown(prefix: str = "") -> str:
    """The grants as the table in docs/operations.md."""
    rows = ["| principal | may write | may read | may read the configuration of | consumer groups |", "|---|---|---|---|---|"]
    for principal in PRINCIPALS:
        mine = grants_of(principal, prefix)

        def names(operation: str, resource: str, mine: tuple[Grant, ...] = mine) -> str:
            found = [f"`{g.name}*`" if g.prefixed else f"`{g.name}`" for g in mine if (g.operation, g.resource) == (operation, resource)]
            return ", ".join(found) or "none"

        rows.append(
            f"| `{principal}` | {names('Write', 'topic')} | {names('Read', 'topic')} | {names('DescribeConfigs', 'topic')} | {names('Read', 'group')} |"
        )
    return "\n".join(rows) + "\n"


def kafka_acls_commands(prefix: str = "") -> list[str]:
    """The same grants as `kafka-acls.sh` invocations; `$K` stands for the tool with its admin options."""
    lines = []
    for g in grants(prefix):
        resource = f"--{g.resource} {g.name}" + (" --resource-pattern-type prefixed" if g.prefixed else "")
        lines.append(f"$K --add --allow-principal User:{g.principal} --operation {g.operation} {resource}")
    return lines


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.messaging.acls", description="Print the Kafka grants of every principal.")
    parser.add_argument("--prefix", default="", help="TOPIC_PREFIX of the deployment")
    parser.add_argument("--commands", action="store_true", help="print kafka-acls.sh commands instead of the table")
    parser.error = lambda message: sys.exit(f"acls: {message} (usage: {parser.format_usage().strip().removeprefix('usage: ')})")  # type: ignore[method-assign]
    args = parser.parse_args(argv)
    if not re.fullmatch(r"[A-Za-z0-9._-]*", args.prefix):
        sys.exit(f"acls: --prefix may contain only letters, digits, '.', '_' and '-', not {args.prefix!r}")
    print("\n".join(kafka_acls_commands(args.prefix)) if args.commands else markdown(args.prefix), end="\n" if args.commands else "")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
