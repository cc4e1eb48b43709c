"""One clock per process (T3), built once from the settings and passed to whatever reads "now".

Production reads the system clock. Tests and demos give every process the same three settings, so
all services compute the same shifted or accelerated instant without patching anything:

    now = CLOCK_SIMULATED_ANCHOR + (system time - CLOCK_REAL_ANCHOR) * CLOCK_SPEED

Both anchors are required for such a clock: an anchor defaulted to "when this process started" would
differ between processes (10 ms apart at 200,000x is 33 simulated minutes), so settings refuse it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...

    def at(self, real: datetime) -> datetime:
        """What this clock reads when the system clock reads `real`."""
        ...

    def real_seconds_until(self, instant: datetime) -> float:
        """Real seconds to wait until this clock reads `instant` (negative if it has passed)."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def at(self, real: datetime) -> datetime:
        return real

    def real_seconds_until(self, instant: datetime) -> float:
        return (instant - self.now()).total_seconds()


@dataclass(frozen=True)
class ScaledClock:
    """Simulated time that reads `simulated_anchor` when the system clock reads `real_anchor`."""

    real_anchor: datetime
    simulated_anchor: datetime
    speed: float = 1.0

    def __post_init__(self) -> None:
        if self.real_anchor.tzinfo is None or self.simulated_anchor.tzinfo is None:
            raise ValueError("clock anchors must be timezone-aware")
        if self.speed <= 0:
            raise ValueError("clock speed must be positive")

    def now(self) -> datetime:
        return self.at(datetime.now(UTC))

    def at(self, real: datetime) -> datetime:
        return self.simulated_anchor + (real - self.real_anchor) * self.speed

    def real_seconds_until(self, instant: datetime) -> float:
        return (instant - self.now()).total_seconds() / self.speed


def make_clock(real_anchor: datetime | None, simulated_anchor: datetime | None, speed: float) -> Clock:
    """The system clock when nothing is configured; otherwise the scaled clock of both anchors."""
    if real_anchor is None and simulated_anchor is None and speed == 1.0:
        return SystemClock()
    if real_anchor is None or simulated_anchor is None:
        raise ValueError(
            "a shifted or accelerated clock needs both CLOCK_REAL_ANCHOR and CLOCK_SIMULATED_ANCHOR, "
            "so that every process computes the same instant"
        )
    return ScaledClock(real_anchor, simulated_anchor, speed)

