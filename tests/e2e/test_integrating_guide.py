"""docs/integrating.md stays true: its plain-client example, run as a newcomer would paste it, places
an order against the real services and prints the listing's and the order's answers."""

from __future__ import annotations

import ast
import asyncio
import os
import re
import sys
from pathlib import Path

import pytest

from devtools.launcher import ServiceProcess
from tests.support.infra import Infra

pytestmark = pytest.mark.e2e

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "integrating.md"


def the_guides_example() -> str:
    [script] = re.findall(r"^\.venv/bin/python - <<'EOF'\n(.*?)^EOF$", GUIDE.read_text(), re.S | re.M)
    return script


async def test_S2_the_guides_example_places_an_order_and_finds_its_answer(
    services: dict[str, ServiceProcess], infra: Infra, topic_prefix: str
) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-",
        env={**os.environ, "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap_servers, "TOPIC_PREFIX": topic_prefix},
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(the_guides_example().encode()), 120)
    assert process.returncode == 0, err.decode()
    created, placed = (ast.literal_eval(line) for line in out.decode().splitlines())
    assert (created["type"], created["command_type"]) == ("listing.created", "listing.create")
    assert (placed["type"], placed["command_type"]) == ("order.accepted", "order.place")
    assert placed["ship_by_date"] > placed["order_date"]
