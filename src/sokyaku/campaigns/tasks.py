"""Background jobs of campaigns: thin wrappers around services, safe to run twice."""

from huey.contrib.djhuey import db_task

from sokyaku.campaigns import services
from sokyaku.core import lanes


@db_task(priority=lanes.BULK)
def channel_rules_reapply() -> None:
    """Map every stored touch to a channel again (after the rules changed)."""
    services.channel_rules_reapply()
