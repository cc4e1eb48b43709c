-- Transactional outbox: events are written in the same transaction as the state they describe,
-- and a relay publishes them to Kafka in id order, then deletes them.
create table outbox (
    id bigint generated always as identity primary key,
    event_id uuid not null unique,
    topic text not null,
    key text not null,
    message_type text not null,
    payload bytea not null,
    created_at timestamptz not null default now()
);

-- Inbox: the event ids this service has already applied. A redelivered message finds its id
-- here and changes nothing (M2).
create table inbox (
    event_id uuid primary key,
    topic text not null,
    message_type text not null,
    processed_at timestamptz not null default now()
);
