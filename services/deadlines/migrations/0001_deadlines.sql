create table deadlines (
    storefront_id text not null,
    order_id text not null,
    seller_id text not null,
    kind text not null check (kind in ('ship_by', 'confirm_by')),
    due_date date not null,  -- the calendar date, in the marketplace zone
    due_at timestamptz not null,  -- the instant that date ends (T2)
    -- pending: waiting; fired: its event was emitted; void: a shipment confirmed before it made it moot.
    status text not null default 'pending' check (status in ('pending', 'fired', 'void')),
    fired_at timestamptz,
    created_at timestamptz not null default now(),
    primary key (storefront_id, order_id, kind)
);

-- The timer loop reads only what is still pending, earliest first.
create index deadlines_pending_due on deadlines (due_at) where status = 'pending';
