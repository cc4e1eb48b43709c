"""The operator CLI, `fulfil`: what the running system is doing, one order's story, dead letters and
their replay, timers coming due. It reads the services' databases (read-only), their topics and their
HTTP health; the only thing it ever writes is a replayed record, onto Kafka (docs/operations.md)."""
