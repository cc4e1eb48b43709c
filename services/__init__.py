"""The three fulfilment services: inventory, orders and deadlines. Each is its own process and database."""
