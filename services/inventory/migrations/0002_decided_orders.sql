-- Orders whose reservation inventory has decided (reserved or refused): a second order.placed for
-- the same order, whatever its event id, is not decided again.
create table decided_orders (
    order_key text primary key,
    decided_at timestamptz not null default now()
);
