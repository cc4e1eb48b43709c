"""Benchmarks of the whole system against real Kafka and PostgreSQL: `python -m bench.run` (see docs/benchmarks.md)."""
