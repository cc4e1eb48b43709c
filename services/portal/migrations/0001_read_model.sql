-- The portal's read model: built only from the published state topics and events, so it can be
-- rebuilt by replaying them (empty database, consumer groups rewound). Nothing here is the truth:
-- the owning services hold it.

-- The latest state of each order (orders.state); a record only replaces an older version (S1).
create table orders (
    storefront_id text not null,
    order_id text not null,
    seller_id text not null,
    status text not null,
    placed_at timestamptz not null,
    lines jsonb not null,
    timezone text,
    order_date date,
    ship_by_date date,
    confirm_by_date date,
    ship_by_deadline timestamptz,
    confirm_by_deadline timestamptz,
    late_penalty boolean not null default false,
    rejection_reason text,
    rejection_rule text,
    rejection_message text,
    confirmation_command_id uuid,
    confirmed_at timestamptz,
    ship_date date,
    shipping_method text,
    carrier text,
    tracking_id text,
    tracking_valid boolean,
    memo text,
    shipped_late boolean,
    cancellation_reason text,
    version integer not null,
    -- What Manage Orders sorts by: the ship-by deadline of an accepted order, the placement instant of
    -- one that never got dates (pending, rejected). Set by the projection, never by a query.
    sort_at timestamptz not null,
    primary key (storefront_id, order_id)
);
-- Keyset paging of one seller's orders of one status in ship-by order (100,000 orders a seller).
create index orders_by_seller_status_sort on orders (seller_id, status, sort_at, storefront_id, order_id);
create index orders_by_seller_order_id on orders (seller_id, order_id);
-- The performance page reads the orders with a deciding instant in the last 30 days.
create index orders_by_seller_ship_by on orders (seller_id, ship_by_deadline);
create index orders_by_seller_confirm_by on orders (seller_id, confirm_by_deadline);
create index orders_by_seller_confirmed on orders (seller_id, confirmed_at);

-- Manage Orders' tab counts, kept by a trigger as order rows come and change status: counting a busy
-- seller's 100,000 rows on every page view cost more than the page itself.
create table order_counts (
    seller_id text not null,
    status text not null,
    orders bigint not null,
    primary key (seller_id, status)
);

create function count_orders() returns trigger language plpgsql as $$
begin
    if tg_op in ('UPDATE', 'DELETE') then
        if tg_op = 'DELETE' or old.status <> new.status or old.seller_id <> new.seller_id then
            update order_counts set orders = orders - 1 where seller_id = old.seller_id and status = old.status;
        else
            return null;  -- the same seller and status: nothing to count
        end if;
    end if;
    if tg_op in ('INSERT', 'UPDATE') then
        insert into order_counts as c (seller_id, status, orders) values (new.seller_id, new.status, 1)
        on conflict (seller_id, status) do update set orders = c.orders + 1;
    end if;
    return null;
end $$;

create trigger orders_counted after insert or update or delete on orders for each row execute function count_orders();

-- The latest state of each listing (inventory.listings).
create table listings (
    listing_id text primary key,
    seller_id text not null,
    quantity integer not null,
    production_days integer not null,
    out_of_stock boolean not null,
    version integer not null
);
create index listings_by_seller on listings (seller_id, listing_id);

-- S4 warnings (deadline.approaching): at most one per order and deadline.
create table warnings (
    storefront_id text not null,
    order_id text not null,
    deadline_kind text not null,
    seller_id text not null,
    deadline timestamptz not null,
    due_date date not null,
    lead_seconds integer not null,
    warned_at timestamptz not null,
    primary key (storefront_id, order_id, deadline_kind)
);
create index warnings_by_seller_deadline on warnings (seller_id, deadline);

-- The one answer to each seller command (M5): applied or refused, as the services published it.
create table answers (
    command_id uuid primary key,
    command_type text,
    answer_type text not null,
    seller_id text,
    storefront_id text,
    order_id text,
    listing_id text,
    reason text,
    rule text,
    message text,
    late boolean,
    tracking_valid boolean,
    answered_at timestamptz not null
);

-- Not part of the read model: the commands this portal sent, so a seller can follow one before its
-- answer arrives. Written in the transaction that queues the command in the outbox.
create table sent_commands (
    command_id uuid primary key,
    seller_id text not null,
    command_type text not null,
    storefront_id text,
    order_id text,
    listing_id text,
    summary jsonb not null,
    sent_at timestamptz not null
);
create index sent_commands_by_order on sent_commands (seller_id, storefront_id, order_id, sent_at);
create index sent_commands_by_listing on sent_commands (seller_id, listing_id, sent_at);
