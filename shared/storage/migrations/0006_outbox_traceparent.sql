-- The W3C trace context of the span that emitted an event, sent on as its `traceparent` header.
alter table outbox add column traceparent text;
