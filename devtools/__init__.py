"""Development tools, not deployed: launching the services as processes, talking to topics, the demo."""
