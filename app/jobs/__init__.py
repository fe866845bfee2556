"""Background jobs the server runs on a schedule (started from the app's lifespan)."""
