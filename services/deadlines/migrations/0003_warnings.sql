-- S4: a warning a lead time before each deadline is a timer too. Every timer now keeps the deadline it
-- is about (for a deadline, its own due instant); a confirmation before that deadline voids both.
alter table deadlines add column deadline timestamptz;
update deadlines set deadline = due_at;
alter table deadlines alter column deadline set not null;
alter table deadlines drop constraint deadlines_kind_check;
alter table deadlines add constraint deadlines_kind_check
    check (kind in ('ship_by', 'confirm_by', 'ship_by_warning', 'confirm_by_warning'));
