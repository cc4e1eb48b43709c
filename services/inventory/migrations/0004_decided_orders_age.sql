-- Retention prunes decided orders by age, like the inbox (shared/storage/retention.py).
create index decided_orders_decided_at on decided_orders using brin (decided_at);
