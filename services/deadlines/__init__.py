"""Deadlines: durable timers for each accepted order's ship-by and confirm-by instants."""
