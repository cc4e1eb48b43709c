-- Retention prunes bookkeeping by age (shared/storage/retention.py). Rows arrive in time order, so a
-- BRIN index finds the old ones for almost nothing on the insert path.
create index inbox_processed_at on inbox using brin (processed_at);
create index handled_commands_handled_at on handled_commands using brin (handled_at);
