"""T3: one configurable clock; shifted and accelerated clocks agree across processes given the same anchors."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from shared.clock import ScaledClock, SystemClock, make_clock
from shared.settings import ServiceSettings, load

pytestmark = pytest.mark.unit


def test_T3_no_configuration_means_the_system_clock() -> None:
    assert isinstance(make_clock(None, None, 1.0), SystemClock)
    assert isinstance(ServiceSettings().clock(), SystemClock)


def test_T3_a_shifted_accelerated_clock_runs_from_its_anchor_at_its_speed() -> None:
    real_anchor = datetime.now(UTC) - timedelta(seconds=10)
    clock = ScaledClock(real_anchor, datetime(2030, 1, 1, tzinfo=UTC), speed=3600)
    now = clock.now()
    # 10+ real seconds at 3600x is 10+ simulated hours (bounded above generously, not a timing test).
    assert datetime(2030, 1, 1, 10, tzinfo=UTC) <= now < datetime(2030, 1, 2, tzinfo=UTC)
    # An hour of simulated time passes in a real second.
    assert 0.9 < clock.real_seconds_until(clock.now() + timedelta(hours=1)) <= 1.0


def test_T3_settings_build_the_clock_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOCK_REAL_ANCHOR", "2026-01-01T00:00:00Z")
    monkeypatch.setenv("CLOCK_SIMULATED_ANCHOR", "2040-06-01T00:00:00+00:00")
    monkeypatch.setenv("CLOCK_SPEED", "2")
    clock = ServiceSettings().clock()
    assert isinstance(clock, ScaledClock)
    assert clock.simulated_anchor == datetime(2040, 6, 1, tzinfo=UTC) and clock.speed == 2


@pytest.mark.parametrize("speed", [0, -1])
def test_T3_speed_must_be_positive(speed: float) -> None:
    with pytest.raises(ValueError):
        ScaledClock(datetime.now(UTC), datetime.now(UTC), speed)


def test_T3_a_scaled_clock_needs_both_anchors(monkeypatch: pytest.MonkeyPatch) -> None:
    # An anchor defaulted to "when this process started" would differ between processes.
    monkeypatch.setenv("CLOCK_SPEED", "200000")
    with pytest.raises(ValidationError, match="CLOCK_REAL_ANCHOR and CLOCK_SIMULATED_ANCHOR"):
        ServiceSettings()
    monkeypatch.setenv("CLOCK_SIMULATED_ANCHOR", "2040-06-01T00:00:00+00:00")
    with pytest.raises(ValidationError, match="CLOCK_REAL_ANCHOR and CLOCK_SIMULATED_ANCHOR"):
        ServiceSettings()


def test_T3_the_one_line_error_names_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOCK_SPEED", "2")
    with pytest.raises(SystemExit) as stopped:
        load(ServiceSettings)
    assert str(stopped.value).startswith("configuration error: a shifted or accelerated clock needs both")
    assert "\n" not in str(stopped.value)


def test_T3_two_processes_started_at_different_moments_agree_on_the_simulated_time() -> None:
    """Each process reports what its clock reads and the system time it read it at; both follow the
    one formula from the shared anchors, so at any real instant they read the same simulated time."""
    real_anchor, simulated_anchor, speed = datetime.now(UTC), datetime(2030, 1, 1, tzinfo=UTC), 200_000
    env = {
        **os.environ,
        "CLOCK_REAL_ANCHOR": real_anchor.isoformat(),
        "CLOCK_SIMULATED_ANCHOR": simulated_anchor.isoformat(),
        "CLOCK_SPEED": str(speed),
    }
    for _ in range(2):  # one after the other: the second starts a process start-up later
        out = subprocess.run([sys.executable, "-m", "shared.now"], env=env, capture_output=True, text=True, check=True).stdout
        simulated, real = datetime.fromisoformat(out.split()[0]), datetime.fromisoformat(out.split()[-1].rstrip(")"))
        assert simulated == simulated_anchor + (real - real_anchor) * speed


def test_T3_every_process_refuses_an_accelerated_clock_without_its_anchors() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOCK_")} | {"CLOCK_SPEED": "200000"}
    done = subprocess.run([sys.executable, "-m", "shared.now"], env=env, capture_output=True, text=True)
    assert done.returncode != 0 and done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        "configuration error: a shifted or accelerated clock needs both CLOCK_REAL_ANCHOR and CLOCK_SIMULATED_ANCHOR, "
        "so that every process computes the same instant"
    ]
