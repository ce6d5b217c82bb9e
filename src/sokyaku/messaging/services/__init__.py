"""Messaging writes: the outbox (``outbox``), delivery (``delivery``), content (templates,
sender profiles, broadcasts), tracking (opens, clicks, unsubscribes, bounces)."""
