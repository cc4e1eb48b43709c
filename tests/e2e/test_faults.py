"""The fault run at CI size: a storefront load while every service is killed -9 and restarted three
times, the broker is killed -9, PostgreSQL is stopped immediately, inputs are duplicated and poison is
mixed in; afterwards no effect is lost or doubled, no deadline fired early, stock adds up (M2, M3, R3,
R11, R12, R14, R15). The harness runs its own Kafka and PostgreSQL (ports from FAULTS_KAFKA_PORT and
FAULTS_PG_PORT, 29092 and 25432 by default); see devtools/faults.py."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from devtools.launcher import REPO

pytestmark = pytest.mark.e2e


def test_M2_M3_R3_R11_R12_R14_R15_every_invariant_holds_through_crashes_duplicates_and_poison() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "devtools.faults", "--orders", "500", "--rate", "20", "--seed", "11", "--max-seconds", "600"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
    report = json.loads((REPO / ".stack" / "faults" / "report.json").read_text())
    assert report["ok"] and report["problems"] == {}
    assert report["faults"] == {"kafka:kafka": 1, "postgres:postgres": 1, "service:deadlines": 3, "service:inventory": 3, "service:orders": 3}
    counts = report["counts"]
    assert counts["placed"] == 500 and counts["accepted"] + counts["rejected"] == 500
    assert counts["penalties"] > 0 and counts["cancellations"] > 0 and counts["shipped"] > 0
    assert counts["dead_lettered"] == report["poison_sent"] > 0
