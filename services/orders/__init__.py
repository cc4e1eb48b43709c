"""Orders: accepts or rejects orders, fixes their ship-by dates, takes shipment confirmations."""
