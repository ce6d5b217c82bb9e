"""Public mail endpoints: open pixel, click redirect, one-click unsubscribe, preferences.

No login, no CSRF cookie: the signed token in the path is the only credential (``tokens.py``).
"""

from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.urls import path


def _pending(request: HttpRequest, token: str) -> HttpResponse:
    return HttpResponseNotFound()


app_name = "mail"

urlpatterns = [
    path("o/<str:token>.gif", _pending, name="open"),
    path("c/<str:token>/", _pending, name="click"),
    path("u/<str:token>/", _pending, name="unsubscribe"),
    path("p/<str:token>/", _pending, name="preferences"),
]
