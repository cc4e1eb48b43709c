"""The event contracts: every message on every topic, the topic registry and the codec (M1)."""
