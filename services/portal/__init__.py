"""The seller portal: Manage Orders, inventory and performance in a browser, and a JSON API."""
