"""Traces across the services (OpenTelemetry): W3C trace context travels in Kafka headers.

A consumer continues the trace of the record it handles (its `traceparent` header) in a span of its
own; everything the handler emits carries that span's context through the outbox and the relay, and a
timer remembers the context of the acceptance that stored it, so a fired deadline continues the
order's trace: one order's spans, from the storefront's command to its penalty, cancellation and
restored stock, share one trace id.

Exporting is off unless configured: OTEL_EXPORTER_OTLP_ENDPOINT (the standard variable: spans go out
over OTLP/HTTP) and/or TRACES_FILE (spans as JSON lines, for a look without a collector). Without an
exporter the headers are still passed on, so services that do export see whole traces.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from shared.scoped import Scoped

_propagator = TraceContextTextMapPropagator()
_tracer = trace.get_tracer("fulfil")
_exporting = False
_passed_on: ContextVar[str | None] = ContextVar("traceparent", default=None)  # without an exporter
TRACEPARENT = "traceparent"


def exporting() -> bool:
    """Whether spans go anywhere; when not, hot paths pass a trace context on without making spans."""
    return _exporting


def configure(service: str, traces_file: str | None) -> None:
    """Install an exporting tracer provider when an exporter is configured; otherwise leave the no-op one."""
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    if not endpoint and not traces_file:
        return
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    if endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    if traces_file:
        provider.add_span_processor(BatchSpanProcessor(JsonLinesExporter(Path(traces_file)), schedule_delay_millis=200))
    trace.set_tracer_provider(provider)
    global _tracer, _exporting
    _tracer = trace.get_tracer("fulfil")
    _exporting = True


def shutdown() -> None:
    """Export what is still buffered."""
    provider = trace.get_tracer_provider()
    if isinstance(provider, TracerProvider):
        provider.shutdown()


def consuming(name: str, headers: Sequence[tuple[str, bytes]] | None, **attributes: Any) -> AbstractContextManager[Any]:
    """A span for handling one record, continuing the trace its headers carry. Without an exporter the
    record's context is only passed on (no span is made: this runs for every record consumed)."""
    if not _exporting:
        return Scoped(_passed_on, _traceparent_in(headers or ()))
    carrier = {key: value.decode(errors="replace") for key, value in headers or () if key in (TRACEPARENT, "tracestate")}
    return _tracer.start_as_current_span(name, context=_propagator.extract(carrier), kind=SpanKind.CONSUMER, attributes=attributes)


def _traceparent_in(headers: Sequence[tuple[str, bytes]]) -> str | None:
    for key, value in headers:
        if key == TRACEPARENT:
            return value.decode(errors="replace")
    return None


@contextmanager
def continuing(name: str, traceparent: str | None, **attributes: Any) -> Iterator[None]:
    """A span continuing a trace remembered as its `traceparent` (a timer's, say)."""
    carrier = {TRACEPARENT: traceparent} if traceparent else {}
    with _tracer.start_as_current_span(name, context=_propagator.extract(carrier), kind=SpanKind.PRODUCER, attributes=attributes):
        yield


def current_traceparent() -> str | None:
    """The W3C `traceparent` of the span in progress (or, without an exporter, of the record being
    handled), to be sent on with what it emits."""
    if not _exporting:
        return _passed_on.get()
    carrier: dict[str, str] = {}
    _propagator.inject(carrier, context=otel_context.get_current())
    return carrier.get(TRACEPARENT)


class JsonLinesExporter(SpanExporter):
    """Finished spans appended to a file, one JSON object a line."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        with self._path.open("a") as out:
            for line in _lines(spans):
                out.write(line + "\n")
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


def _lines(spans: Iterable[ReadableSpan]) -> Iterator[str]:
    for span in spans:
        context = span.get_span_context()
        yield json.dumps(
            {
                "service": span.resource.attributes.get("service.name"),
                "name": span.name,
                "trace_id": format(context.trace_id, "032x") if context else None,
                "span_id": format(context.span_id, "016x") if context else None,
                "parent_id": format(span.parent.span_id, "016x") if span.parent else None,
                "start": span.start_time,
                "end": span.end_time,
                "attributes": dict(span.attributes or {}),
            }
        )
