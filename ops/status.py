"""`fulfil status`: each service's health, its consumers' lag and its outbox backlog; the timers coming
due; the dead letters. Every figure is read from where it lives, not from the service, so a service
that is down shows as down and its figures are still there:

- health: GET /health/ready of each service (its own checks: database, Kafka, groups joined, loops);
- lag: per consumer group (one per service and topic), the topic's end offsets minus the group's
  committed offsets, from Kafka's admin API; a group that never committed lags by all that is kept;
- outbox: rows of the service's outbox not yet on Kafka, and the age of the oldest (its database);
- timers: pending, due, overdue and failed by kind (the deadlines database; ops/timers.py says what they mean);
- dead letters: the records on the dead-letter topic, by service and error kind.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from datetime import timedelta
from typing import Any

from aiokafka.errors import KafkaError

from ops.databases import database
from ops.deadletters import counts, read_letters
from ops.errors import OpsError
from ops.kafka import KafkaReader
from ops.output import Output, instant, span
from ops.settings import OpsSettings
from ops.timers import FIGURES, Moments, counts_by_kind
from shared.contracts.topics import SERVICES, consumer_group, topics_read_by

NOT_READY = 3  # the exit status when a service is down or not ready (1 and 2 are errors and bad usage)


def probe(url: str, timeout: float) -> dict[str, Any]:
    """What GET /health/ready says: ready, not ready (with the checks that fail) or down."""
    try:
        with urllib.request.urlopen(f"{url}/health/ready", timeout=timeout) as answer:
            body = json.load(answer)
    except urllib.error.HTTPError as exc:
        if exc.code != 503:
            return {"state": "down", "detail": f"{url}/health/ready answered HTTP {exc.code}"}
        try:
            body = json.load(exc)
        except ValueError:
            return {"state": "not ready", "detail": "HTTP 503"}
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return {"state": "down", "detail": f"{url} does not answer ({reason})"}
    checks = body.get("checks", {}) if isinstance(body, dict) else {}
    failing = {name: value for name, value in checks.items() if value != "ok"}
    return {"state": "ready" if body.get("ready") else "not ready", "failing": failing}


def partition_lag(offsets: dict[int, tuple[int, int]], committed: dict[int, int]) -> dict[int, int]:
    """Records each partition holds that the group has not applied: end minus committed offset, or
    everything kept (end minus oldest) where the group has never committed."""
    return {p: max(end - max(committed.get(p, start), start), 0) for p, (start, end) in sorted(offsets.items())}


async def lag_of(reader: KafkaReader, service: str) -> dict[str, Any]:
    lags = {}
    topics = topics_read_by(service)
    kept = await reader.offsets([topic.name for topic in topics])
    for topic in topics:
        group = consumer_group(service, topic, reader.prefix)
        offsets = kept.get(topic.name)
        if not offsets:
            lags[topic.name] = {"group": group, "error": f"topic {reader.prefix}{topic.name} does not exist yet"}
            continue
        committed = await reader.committed(group, topic.name)
        by_partition = partition_lag(offsets, committed)
        lags[topic.name] = {"group": group, "total": sum(by_partition.values()), "partitions": by_partition, "committed": bool(committed)}
    return lags


async def outbox_of(settings: OpsSettings, service: str) -> dict[str, Any]:
    async with database(settings, service) as conn:
        row = await conn.fetchrow("select count(*) as rows, extract(epoch from now() - min(created_at))::float8 as oldest from outbox")
    return {"backlog": int(row["rows"]), "oldest_seconds": float(row["oldest"] or 0.0)}


async def _or_error(work: Any) -> dict[str, Any]:
    """A figure, or what kept it from being read: one part failing never hides the others."""
    try:
        return await work  # type: ignore[no-any-return]
    except OpsError as exc:
        return {"error": str(exc)}
    except KafkaError as exc:
        return {"error": f"Kafka failed: {exc}"}


async def gather(settings: OpsSettings, overdue_after: timedelta) -> dict[str, Any]:
    moments = Moments.of(settings.clock(), overdue_after)
    timeout = settings.ops_timeout_seconds
    health = await asyncio.gather(*(asyncio.to_thread(probe, settings.http_of(s), timeout) for s in SERVICES))
    outboxes = await asyncio.gather(*(_or_error(outbox_of(settings, s)) for s in SERVICES))
    report: dict[str, Any] = {
        "now": moments.now,
        "services": {s: {"health": h, "outbox": o} for s, h, o in zip(SERVICES, health, outboxes, strict=True)},
        "timers": {"overdue_after_seconds": overdue_after.total_seconds(), **await _or_error(_timers(settings, moments))},
    }
    try:
        async with KafkaReader(settings) as reader:
            for service in SERVICES:
                report["services"][service]["lag"] = await _or_error(lag_of(reader, service))
            letters = await read_letters(reader)
            by = counts(letters)
            report["dead_letters"] = {"total": len(letters), "by": [{"service": s, "error_kind": k, "count": n} for (s, k), n in sorted(by.items())]}
    except (OpsError, KafkaError) as exc:
        for service in SERVICES:
            report["services"][service]["lag"] = {"error": str(exc)}
        report["dead_letters"] = {"error": str(exc)}
    return report


async def _timers(settings: OpsSettings, moments: Moments) -> dict[str, Any]:
    return {"by_kind": await counts_by_kind(settings, moments)}


def all_ready(report: dict[str, Any]) -> bool:
    return all(each["health"]["state"] == "ready" for each in report["services"].values())


def render(out: Output, report: dict[str, Any]) -> None:
    for service, parts in report["services"].items():
        health = parts["health"]
        rows = [("health", _health(health))]
        lag = parts.get("lag", {})
        if "error" in lag:
            rows.append(("lag", lag["error"]))
        for topic, figures in lag.items() if "error" not in lag else ():
            if "error" in figures:
                rows.append((f"lag {topic}", figures["error"]))
                continue
            per = " ".join(f"p{p}={n}" for p, n in figures["partitions"].items())
            rows.append((f"lag {topic}", f"{figures['total']} ({per})" + ("" if figures["committed"] else ", nothing committed yet")))
        outbox = parts["outbox"]
        rows.append(("outbox", outbox["error"] if "error" in outbox else f"{outbox['backlog']} unpublished" + (f", oldest {span(timedelta(seconds=outbox['oldest_seconds']))}" if outbox["backlog"] else "")))
        out.table(f"{service}: {health['state']}", ("", ""), rows)
        out.line()
    timers = report["timers"]
    title = f"timers at {instant(report['now'])} (services' clock); overdue = due more than {span(timedelta(seconds=timers['overdue_after_seconds']))} (real time) ago"
    if "error" in timers:
        out.line(f"{title}: {timers['error']}")
    else:
        out.table(title, ("kind", *FIGURES), [(kind, *(counted[f] for f in FIGURES)) for kind, counted in timers["by_kind"].items()])
    out.line()
    letters = report["dead_letters"]
    if "error" in letters:
        out.line(f"dead letters: {letters['error']}")
    else:
        out.table(f"dead letters: {letters['total']}", ("service", "error kind", "count"), [(b["service"], b["error_kind"], b["count"]) for b in letters["by"]])


def _health(health: dict[str, Any]) -> str:
    if health["state"] == "ready":
        return "ready"
    if health.get("failing"):
        return "not ready: " + "; ".join(f"{name}: {value}" for name, value in health["failing"].items())
    return f"{health['state']}: {health.get('detail', '')}"


async def show_status(settings: OpsSettings, out: Output, overdue_after: timedelta) -> int:
    report = await gather(settings, overdue_after)
    if out.as_json:
        out.json(report)
    else:
        render(out, report)
    return 0 if all_ready(report) else NOT_READY
