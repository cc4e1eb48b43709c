"""`python -m shared.now`: what the clock configured in this environment reads now (T3), beside the
system time it was read at. Every process given the same CLOCK_* settings prints the same mapping."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.settings import ServiceSettings, load


def main() -> None:
    clock = load(ServiceSettings).clock()
    real = datetime.now(UTC)
    print(f"{clock.at(real).isoformat()} (system clock {real.isoformat()})")


if __name__ == "__main__":
    main()
