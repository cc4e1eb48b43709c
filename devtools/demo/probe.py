"""The services' own figures for the dashboard: consumer lag, outbox backlog, timers, firing lateness.

Read from each service's Prometheus endpoint (GET /metrics, shared/http.py; names in shared/metrics.py)
and parsed with prometheus_client's own text parser.
"""

from __future__ import annotations

import asyncio
import urllib.request
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.parser import text_string_to_metric_families

from shared import metrics


def _name(metric: MetricWrapperBase) -> str:
    return metric.describe()[0].name


LAG, BACKLOG = _name(metrics.CONSUMER_LAG), _name(metrics.OUTBOX_BACKLOG)
PENDING, DUE, FIRED = _name(metrics.TIMERS_PENDING), _name(metrics.TIMERS_DUE), _name(metrics.TIMERS_FIRED)
LATENESS = _name(metrics.FIRING_LATENESS)


@dataclass(frozen=True)
class SystemFigures:
    """What the services report about themselves, summed over them."""

    read: bool = False  # whether any service answered
    lag: int = 0  # records consumed topics hold that the services have not applied yet
    backlog: int = 0  # events committed to outboxes, not yet on Kafka
    timers_pending: Counter[str] = field(default_factory=Counter)  # by kind: ship_by, confirm_by, *_warning
    timers_due: int = 0  # pending and past due: waiting for a watermark or the loop
    timers_fired: int = 0
    lateness_seconds: float | None = None  # mean real seconds from a timer's due instant to its firing


def figures(texts: Iterable[str]) -> SystemFigures:
    """Sum the figures of the services' /metrics answers (Prometheus text format)."""
    sums: Counter[str] = Counter()
    pending: Counter[str] = Counter()
    read = False
    for text in texts:
        read = True
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                sums[sample.name] += sample.value
                if sample.name == PENDING:
                    pending[sample.labels.get("kind", "?")] += int(sample.value)
    fired_count = sums[f"{LATENESS}_count"]
    return SystemFigures(
        read=read,
        lag=int(sums[LAG]),
        backlog=int(sums[BACKLOG]),
        timers_pending=pending,
        timers_due=int(sums[DUE]),
        timers_fired=int(sums[f"{FIRED}_total"]),
        lateness_seconds=sums[f"{LATENESS}_sum"] / fired_count if fired_count else None,
    )


def _get(url: str) -> str | None:
    try:
        with urllib.request.urlopen(f"{url}/metrics", timeout=2) as answer:
            return str(answer.read().decode())
    except OSError:
        return None  # stopping, or busy: the next reading will do


async def read(urls: Iterable[str]) -> SystemFigures:
    """The figures of the services serving at `urls` (those that answer)."""
    texts = await asyncio.gather(*(asyncio.to_thread(_get, url) for url in urls))
    return figures(text for text in texts if text is not None)
