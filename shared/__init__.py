"""Code every service shares: event contracts, clock, settings, storage and messaging plumbing."""
