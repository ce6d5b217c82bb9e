"""Background work of lifecycle: thin wrappers that take ids and call a service."""

from huey.contrib.djhuey import db_task

from sokyaku.core import lanes
from sokyaku.lifecycle.services import mql


@db_task(retries=1, retry_delay=60, priority=lanes.BULK)
def mql_evaluate_all_task() -> None:
    """Apply the active MQL rules to every contact that matches them already."""
    mql.mql_evaluate_all()
