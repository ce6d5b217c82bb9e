"""Settings of the django-post-office peer in the ``delivery`` benchmark (benchmark only).

The product's settings with ``post_office`` installed, used only by the peer's own process
(``python -m benchmarks.delivery --post-office N``; settings are read once per process). Mail
goes to ``SOKYAKU_SMTP_URL`` (the benchmark's sink) through Django's SMTP backend, with as many
threads per process and as large batches as the engine gets (``SOKYAKU_MAIL_CONNECTIONS``,
``SOKYAKU_MAIL_BATCH``); everything else is post-office's default.
"""

from sokyaku.settings import *  # noqa: F403
from sokyaku.settings import INSTALLED_APPS, MAIL_BATCH, MAIL_CONNECTIONS

INSTALLED_APPS = [*INSTALLED_APPS, "post_office"]
POST_OFFICE = {
    "BACKENDS": {"default": "django.core.mail.backends.smtp.EmailBackend"},
    "THREADS_PER_PROCESS": MAIL_CONNECTIONS,
    "BATCH_SIZE": MAIL_BATCH,
}
