-- Commands this service has answered, by command id: a command re-sent (same command id, even in a
-- new message) is not applied or answered again (R9, M5).
create table handled_commands (
    command_id uuid primary key,
    command_type text not null,
    handled_at timestamptz not null default now()
);
