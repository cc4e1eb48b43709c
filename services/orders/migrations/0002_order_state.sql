-- S1: every change of an order is published on orders.state with a version a reader can order by,
-- carrying what the order row did not keep yet: why it was rejected or cancelled, and whether the
-- shipment's tracking id is valid (S5).
alter table orders add column version bigint not null default 0;
update orders set version = 1;
alter table orders add column tracking_valid boolean;
alter table orders add column rejection_reason text;
alter table orders add column rejection_rule text;
alter table orders add column rejection_message text;
alter table orders add column cancellation_reason text;

-- R15: watermarks are written when an unshipped order's deadline passes; these find the next one.
create index orders_unshipped_ship_by on orders (ship_by_deadline) where status = 'unshipped';
create index orders_unshipped_confirm_by on orders (confirm_by_deadline) where status = 'unshipped';
