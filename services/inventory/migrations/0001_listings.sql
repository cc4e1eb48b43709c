create table listings (
    listing_id text primary key,
    seller_id text not null,
    quantity int not null check (quantity between 0 and 100000),  -- R1, R3: never below zero
    production_days int not null check (production_days between 1 and 30),
    updated_at timestamptz not null default now()
);

-- What each order took from each listing: returned on cancellation (R14), once.
create table reservations (
    order_key text not null,
    listing_id text not null references listings (listing_id),
    quantity int not null check (quantity > 0),
    production_days int not null,
    restored_at timestamptz,
    primary key (order_key, listing_id)
);
