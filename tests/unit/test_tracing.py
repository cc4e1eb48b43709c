"""Trace context without an exporter: a service that exports nothing still passes on the trace of the
record it handles, so the services that do export see one order's whole trace."""

from __future__ import annotations

import pytest

from shared import tracing

pytestmark = pytest.mark.unit

PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_without_an_exporter_what_a_handler_emits_carries_the_trace_of_the_record_it_handles() -> None:
    assert not tracing.exporting()
    with tracing.consuming("orders order.place", [("traceparent", PARENT.encode()), ("message_type", b"order.place")]):
        assert tracing.current_traceparent() == PARENT
    assert tracing.current_traceparent() is None  # nothing leaks to the next record
    with tracing.consuming("orders order.place", [("message_type", b"order.place")]):
        assert tracing.current_traceparent() is None  # a record without a trace starts none
