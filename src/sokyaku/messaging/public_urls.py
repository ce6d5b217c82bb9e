"""Public mail endpoints mounted at /m/: open pixel, click redirect, one-click unsubscribe,
preference centre (``public_views``). No login, no CSRF cookie: the signed token in the path is
the only credential (``tokens.py``)."""

from django.urls import path

from sokyaku.messaging import public_views

app_name = "mail"

urlpatterns = [
    path("o/<str:token>.gif", public_views.open_pixel, name="open"),
    path("c/<str:token>/", public_views.click, name="click"),
    path("u/<str:token>/", public_views.unsubscribe, name="unsubscribe"),
    path("p/<str:token>/", public_views.preferences, name="preferences"),
]
