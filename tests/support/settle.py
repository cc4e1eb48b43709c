"""Barriers for tests against running services: wait until what they queued is on Kafka and read."""

from __future__ import annotations

from devtools.kafka_io import Tap
from devtools.system import accelerated, clock_env, unpublished
from tests.support.waiting import eventually

__all__ = ["accelerated", "clock_env", "published"]  # the clock helpers live in the harness, devtools/system.py


async def published(urls: dict[str, str] | list[str], tap: Tap) -> None:
    """Every event the services queued in their outboxes is on Kafka, and the tap has read it."""
    for url in urls.values() if isinstance(urls, dict) else urls:
        await eventually(lambda url=url: unpublished([url]), lambda n: n == 0)
    await tap.caught_up()
