-- A timer whose event cannot be built (data the domain did not foresee) is set aside as failed, logged,
-- instead of stopping every timer behind it.
alter table deadlines drop constraint deadlines_status_check;
alter table deadlines add constraint deadlines_status_check check (status in ('pending', 'fired', 'void', 'failed'));
