"""Every metric a service exposes on /metrics (Prometheus' own client), defined once.

Counters and histograms are updated where things happen (the consuming pipeline, the relay, the timer
loop, retention); gauges that describe the database (outbox backlog, timers, watermarks) are read from
it when /metrics is scraped. Each carries the service's name, so one registry serves a process that
runs several services (tests do).
"""

from __future__ import annotations

from collections import Counter as Tally
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

RECORDS = Counter(
    "fulfil_records_total",
    "Records consumed, by topic, message type and outcome "
    "(applied, refused, duplicate, already_answered, dead_lettered, set_aside, ignored).",
    ["service", "topic", "type", "outcome"],
)
BATCH_SECONDS = Histogram(
    "fulfil_batch_seconds",
    "Time to apply one consumed batch, retries included.",
    ["service", "topic"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
CONSUMER_LAG = Gauge("fulfil_consumer_lag", "Records on the partition not yet applied, after the last batch.", ["service", "topic", "partition"])
EMITTED = Counter("fulfil_emitted_total", "Messages committed to the outbox (or, for fired timers, published), by topic and type.", ["service", "topic", "type"])
PUBLISHED = Counter("fulfil_published_total", "Outbox records the relay published and Kafka acknowledged.", ["service", "topic"])
OUTBOX_BACKLOG = Gauge("fulfil_outbox_backlog", "Outbox rows not yet published.", ["service"])
OUTBOX_OLDEST_SECONDS = Gauge("fulfil_outbox_oldest_seconds", "Age of the oldest unpublished outbox row (0 when empty).", ["service"])
DEAD_LETTERS = Counter("fulfil_dead_letters_total", "Records set aside on the dead-letter topic, by source topic and error kind.", ["service", "topic", "kind"])
COMMANDS_REJECTED = Counter("fulfil_commands_rejected_total", "command.rejected answers, by command type and reason.", ["service", "command_type", "reason"])
RETRIES = Counter("fulfil_retries_total", "Failed attempts at work that was retried, by what failed.", ["service", "work", "kind"])
PRUNED = Counter("fulfil_pruned_rows_total", "Bookkeeping rows deleted by retention, by table.", ["service", "table"])

# The deadlines service.
TIMERS_PENDING = Gauge("fulfil_timers_pending", "Timers waiting to fire, by kind.", ["service", "kind"])
TIMERS_DUE = Gauge("fulfil_timers_due", "Pending timers whose instant has passed (waiting for a watermark or the loop), by kind.", ["service", "kind"])
TIMERS_FIRED = Counter("fulfil_timers_fired_total", "Timers fired, by kind.", ["service", "kind"])
FIRING_LATENESS = Histogram(
    "fulfil_firing_lateness_seconds",
    "Real seconds between a timer's due instant and its firing.",
    ["service"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
WATERMARK_AGE = Gauge("fulfil_watermark_age_seconds", "Real seconds since the instant of the latest orders watermark, by partition.", ["service", "partition"])


_children: dict[tuple[int, tuple[str, ...]], Any] = {}


def child(metric: Any, *labels: str) -> Any:
    """`metric.labels(*labels)`, looked up once: counting happens per record on the hot path."""
    key = (id(metric), labels)
    found = _children.get(key)
    if found is None:
        found = _children[key] = metric.labels(*labels)
    return found


def count_emitted(service: str, outgoing: list) -> None:  # type: ignore[type-arg]
    """Count what a committed transaction emitted: every message, and dead letters and rejections by kind."""
    from shared.contracts.events import CommandRejected, DeadLetter

    for (topic, kind), count in Tally((row.topic.name, row.message.type) for row in outgoing).items():
        child(EMITTED, service, topic, kind).inc(count)
    for row in outgoing:
        message = row.message
        if isinstance(message, DeadLetter):
            child(DEAD_LETTERS, service, message.source_topic, message.error_kind).inc()
        elif isinstance(message, CommandRejected):
            child(COMMANDS_REJECTED, service, message.command_type or "unknown", message.reason.value).inc()
