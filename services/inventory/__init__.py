"""Inventory: sellers' listings (quantity and production time) and stock reservations for orders."""
