-- One outbox row as the services send it: a batch's rows go as one array of these (shared/storage/outbox.py).
-- An array of rows is encoded and unnested at about half the cost of one array per column.
create type outbox_entry as (
    event_id uuid,
    topic text,
    key text,
    message_type text,
    payload bytea,
    partition int,
    traceparent text
);
