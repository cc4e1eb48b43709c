"""One clock for every service (T3).

Production reads the system clock. Tests and demos configure every process with the same
anchor and speed, so all services agree on a shifted or accelerated "now" without patching:

    simulated_now = CLOCK_SIMULATED_ANCHOR + (real_now - CLOCK_REAL_ANCHOR) * CLOCK_SPEED
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...

    def real_seconds_until(self, instant: datetime) -> float:
        """Real seconds to wait until this clock reads `instant` (negative if it has passed)."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def real_seconds_until(self, instant: datetime) -> float:
        return (instant - self.now()).total_seconds()


@dataclass(frozen=True)
class ScaledClock:
    """Simulated time that starts at `simulated_anchor` when real time is `real_anchor`."""

    real_anchor: datetime
    simulated_anchor: datetime
    speed: float = 1.0

    def __post_init__(self) -> None:
        if self.real_anchor.tzinfo is None or self.simulated_anchor.tzinfo is None:
            raise ValueError("clock anchors must be timezone-aware")
        if self.speed <= 0:
            raise ValueError("clock speed must be positive")

    def now(self) -> datetime:
        elapsed = datetime.now(UTC) - self.real_anchor
        return self.simulated_anchor + elapsed * self.speed

    def real_seconds_until(self, instant: datetime) -> float:
        return (instant - self.now()).total_seconds() / self.speed


def make_clock(real_anchor: datetime | None, simulated_anchor: datetime | None, speed: float) -> Clock:
    if real_anchor is None and simulated_anchor is None and speed == 1.0:
        return SystemClock()
    now = datetime.now(UTC)
    return ScaledClock(real_anchor or now, simulated_anchor or real_anchor or now, speed)


# The clock of this process: services set it once at start-up, so every "now" they read, including
# the instant stamped on each event they emit, comes from the one configured clock (T3).
_process_clock: Clock = SystemClock()


def use_clock(clock: Clock) -> None:
    global _process_clock
    _process_clock = clock


def now() -> datetime:
    return _process_clock.now()
