"""M3 by fuzzing: malformed records at every consumer of the three services, run as processes against
the real broker and database, never crash a service or block a partition, and each one is
dead-lettered (and answered, when its sender can be identified) or, valid by chance, applied.

A small size of the documented run (`python -m devtools.fuzz`, docs/fuzzing.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from devtools.fuzz import fuzz
from tests.support.infra import Infra

pytestmark = pytest.mark.integration


async def test_M3_malformed_records_at_every_consumer_never_crash_block_or_vanish(
    infra: Infra, topic_prefix: str, service_databases: dict[str, str], tmp_path: Path
) -> None:
    report = await fuzz(infra.kafka_bootstrap_servers, service_databases, topic_prefix, tmp_path, per_consumer=150, seed_value=3)
    assert all(t.sent == 150 for t in report.tallies) and len(report.tallies) == 6
    assert report.ok, report.render()
