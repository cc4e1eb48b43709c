create table orders (
    storefront_id text not null,
    order_id text not null,  -- unique per storefront (R5)
    seller_id text not null,
    command_id uuid not null,  -- the PlaceOrder command that created it
    placed_at timestamptz not null,
    lines jsonb not null,  -- [{"listing_id": ..., "quantity": ...}]
    status text not null check (status in ('pending', 'rejected', 'unshipped', 'shipped', 'cancelled')),
    -- Fixed at acceptance (R7), never changed after.
    order_date date,
    ship_by_date date,
    confirm_by_date date,
    ship_by_deadline timestamptz,
    confirm_by_deadline timestamptz,
    -- The accepted shipment confirmation (R8).
    confirmation_command_id uuid,
    confirmed_at timestamptz,
    ship_date date,
    shipping_method text,
    carrier text,
    tracking_id text,
    memo text,
    shipped_late boolean not null default false,
    -- A late penalty is a mark on the order, not a status (R10).
    late_penalty boolean not null default false,
    updated_at timestamptz not null default now(),
    primary key (storefront_id, order_id)
);
