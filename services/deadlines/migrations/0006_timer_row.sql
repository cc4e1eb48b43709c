-- One timer as the deadlines service stores it: a batch's new timers go as one array of these
-- (services/deadlines/storage.py), in its field order. An array of rows is encoded and unnested at
-- about half the cost of one array per column.
create type timer_row as (
    storefront_id text,
    order_id text,
    seller_id text,
    kind text,
    due_date date,
    deadline timestamptz,
    due_at timestamptz,
    status text,
    orders_partition int,
    traceparent text
);
