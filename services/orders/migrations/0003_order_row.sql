-- One order row as the orders service writes it back: a batch's orders go as one array of these
-- (services/orders/storage.py COLUMNS, in the same order, then the version the row gets).
-- An array of rows is encoded and unnested at about half the cost of one array per column.
create type order_row as (
    storefront_id text,
    order_id text,
    seller_id text,
    command_id uuid,
    placed_at timestamptz,
    lines jsonb,
    status text,
    order_date date,
    ship_by_date date,
    confirm_by_date date,
    ship_by_deadline timestamptz,
    confirm_by_deadline timestamptz,
    confirmation_command_id uuid,
    confirmed_at timestamptz,
    ship_date date,
    shipping_method text,
    carrier text,
    tracking_id text,
    tracking_valid boolean,
    memo text,
    shipped_late boolean,
    late_penalty boolean,
    rejection_reason text,
    rejection_rule text,
    rejection_message text,
    cancellation_reason text,
    version bigint
);
