"""Public capture endpoints: hosted forms at /f/<slug>, landing pages at /p/<slug>."""

from django.urls import URLPattern, URLResolver

app_name = "public"

urlpatterns: list[URLPattern | URLResolver] = []
