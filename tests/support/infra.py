"""Where the tests find a real Kafka broker and a real PostgreSQL server.

1. Services given by the environment (KAFKA_BOOTSTRAP_SERVERS and POSTGRES_URL), which
   `make test` sets after starting the local stack without Docker.
2. Otherwise, where a Docker engine answers, throwaway containers (testcontainers).
3. Otherwise the run fails with a line saying how to get them: real-service tests never skip.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from devtools.system import Servers

# The tests' name for the servers: the private-system harness's own description of them.
Infra = Servers


def _docker_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
        return True
    except Exception:
        return False


@contextmanager
def real_services() -> Iterator[Infra]:
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS") and os.environ.get("POSTGRES_URL"):
        yield Servers.from_env()
        return
    if not _docker_answers():
        raise RuntimeError(
            "no Kafka/PostgreSQL for the tests: run them with `make test` (starts both without Docker), "
            "or set KAFKA_BOOTSTRAP_SERVERS and POSTGRES_URL, or run a Docker engine for testcontainers"
        )
    from testcontainers.kafka import KafkaContainer
    from testcontainers.postgres import PostgresContainer

    with KafkaContainer("apache/kafka:4.1.1").with_kraft() as broker, PostgresContainer("postgres:16", driver=None) as pg:
        yield Infra(broker.get_bootstrap_server(), pg.get_connection_url())
