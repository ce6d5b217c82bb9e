"""WSGI entry point for the production server (``sokyaku serve``)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sokyaku.settings")

application = get_wsgi_application()
