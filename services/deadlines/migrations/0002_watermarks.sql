-- R15: a deadline fires only once the orders watermark of the partition its order's events travel
-- on has passed it. Each timer remembers that partition; each partition its latest watermark.
alter table deadlines add column orders_partition int not null default 0;
alter table deadlines alter column orders_partition drop default;

create table watermarks (
    orders_partition int primary key,
    as_of timestamptz not null
);
