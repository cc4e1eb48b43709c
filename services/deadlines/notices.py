"""What a transaction that changed the timers tells the timer loop (NOTIFY on storage.NOTIFY_CHANNEL),
and whether that can make a timer fire sooner than the loop planned to wake.

Every batch that stores a timer or advances a watermark notifies at commit. Most of those changes
cannot matter before the loop's next planned wake: a timer stored at acceptance comes due days later,
and a watermark matters only to timers already due and waiting for one (R15). At light load the loop
woke for each of them, to claim nothing and plan the same wake again: two more transactions for every
batch. Now the notice says what changed, and the loop wakes only for what can change its plan. A
notice this code did not write (an empty one: an operator's `NOTIFY deadlines`, the benchmarks) wakes
it. Notifications can be lost: the loop never sleeps longer than TIMER_MAX_SLEEP_SECONDS either way.
"""

from __future__ import annotations

from datetime import datetime

WATERMARK = "watermark"
_DUE = "due="


def notice(earliest_new_due: datetime | None, watermarks: bool) -> str:
    """The payload for a batch that stored timers (the earliest of them comes due then) and/or advanced
    watermarks."""
    parts = [] if earliest_new_due is None else [_DUE + earliest_new_due.isoformat()]
    return " ".join([*parts, WATERMARK] if watermarks else parts)


def wakes(payload: str, next_due: datetime | None, blocked: bool) -> bool:
    """Whether a notice can let a timer fire before the loop's planned wake: a timer that comes due
    before `next_due` (the earliest pending one when the loop last looked), or a watermark while due
    timers wait for one (`blocked`). Anything else in the payload wakes the loop."""
    parts = payload.split()
    if not parts:
        return True
    for part in parts:
        if part == WATERMARK:
            if blocked:
                return True
        elif part.startswith(_DUE):
            try:
                due = datetime.fromisoformat(part.removeprefix(_DUE))
            except ValueError:
                return True
            if due.tzinfo is None or next_due is None or due < next_due:
                return True
        else:
            return True
    return False
