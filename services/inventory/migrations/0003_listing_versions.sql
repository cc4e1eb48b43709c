-- S1: every change of a listing is published on inventory.listings with a version a reader can order by.
alter table listings add column version bigint not null default 0;
update listings set version = 1;

-- Written and never read: the ship-by date travels on stock.reserved, not here.
alter table reservations drop column production_days;
