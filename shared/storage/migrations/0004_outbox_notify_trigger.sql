-- Wake the relay from the server side: one trigger per insert statement instead of a client round
-- trip per event. Identical notifications in one transaction are delivered once, at commit.
create function outbox_notify() returns trigger language plpgsql as $$
begin
    perform pg_notify('outbox', '');
    return null;
end;
$$;

create trigger outbox_notify after insert on outbox for each statement execute function outbox_notify();
