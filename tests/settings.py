"""Settings for the test suite: the product's settings, with a private data dir per run.

pytest-django imports this before any conftest, so the environment is set here: every run gets
its own SQLite files and secret key, and two runs at once never share a test database.
"""

import os
import tempfile
from urllib.parse import urlsplit, urlunsplit

os.environ.setdefault("SOKYAKU_DATA_DIR", tempfile.mkdtemp(prefix="sokyaku-test-"))

# The suite runs in parallel processes (pytest-xdist). Each one gets its own data dir (SQLite
# files, the task queue, cached files, stored mails) under the run's, and its own Redis
# database, so one process flushing its queue or cache never touches another's. pytest-django
# gives each process its own test database.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if _worker and not os.environ.get("SOKYAKU_TEST_WORKER_DIR"):
    os.environ["SOKYAKU_TEST_WORKER_DIR"] = _worker
    _dir = os.path.join(os.environ["SOKYAKU_DATA_DIR"], _worker)
    os.makedirs(_dir, exist_ok=True)
    os.environ["SOKYAKU_DATA_DIR"] = _dir
    if os.environ.get("REDIS_URL"):
        _url = urlsplit(os.environ["REDIS_URL"])
        _db = int(_url.path.strip("/") or 0) + 1 + int(_worker.removeprefix("gw"))
        os.environ["REDIS_URL"] = urlunsplit(_url._replace(path=f"/{_db}"))
os.environ.setdefault("SOKYAKU_TASKS_IMMEDIATE", "1")

from sokyaku.settings import *  # noqa: E402,F403

# Handoff triggers are cached per process and reloaded every second in production; here a test
# starts with none cached (tests/conftest.py) and saving a trigger drops the cache, so a reload
# at an arbitrary second would only make query counts depend on the timing.
HANDOFF_TRIGGER_RELOAD_SECONDS = 10**9

# The same for the event types that have a webhook subscription (``webhooks.services.publishing``).
WEBHOOKS_RELOAD_SECONDS = 10**9

# The product's password hasher costs about 0.3 s a password by design; the suite creates a user
# in hundreds of tests. Passwords are still checked, only with a cheap hash.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
