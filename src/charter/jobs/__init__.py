"""Background jobs of a running Charter: requests, outbox delivery, reminders, expiries."""
