"""What operators watch: readiness (``/readyz``) and Prometheus metrics (``/metrics``).

It reads across the apps (worker heartbeat, outbox, enrolments, reactions, handoffs, events)
through their selectors and sits above them; nothing imports it but the URL map and the CLI.
"""
