"""Kafka at the edge: the broker, topic creation, the outbox relay and the consuming pipeline."""
