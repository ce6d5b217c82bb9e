"""Settings for the test suite: the product's settings, with a private data dir per run.

pytest-django imports this before any conftest, so the environment is set here: every run gets
its own SQLite files and secret key, and two runs at once never share a test database.
"""

import os
import tempfile

os.environ.setdefault("SOKYAKU_DATA_DIR", tempfile.mkdtemp(prefix="sokyaku-test-"))
os.environ.setdefault("SOKYAKU_TASKS_IMMEDIATE", "1")

from sokyaku.settings import *  # noqa: E402,F403

# Handoff triggers are cached per process and reloaded every second in production; here a test
# starts with none cached (tests/conftest.py) and saving a trigger drops the cache, so a reload
# at an arbitrary second would only make query counts depend on the timing.
HANDOFF_TRIGGER_RELOAD_SECONDS = 10**9

# The same for the event types that have a webhook subscription (``webhooks.services.publishing``).
WEBHOOKS_RELOAD_SECONDS = 10**9
