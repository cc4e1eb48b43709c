-- A message and a command as a batch records them in the inbox: each kind goes as one array of rows
-- (shared/storage/inbox.py), in the field order here, at about half the cost of one array per column.
create type inbox_entry as (
    event_id uuid,
    topic text,
    message_type text
);
create type handled_command as (
    command_id uuid,
    command_type text
);
