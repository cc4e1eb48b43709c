-- The trace context of the acceptance that stored a timer: a fired timer continues the order's trace.
alter table deadlines add column traceparent text;
