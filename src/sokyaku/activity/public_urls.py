"""Public tracking endpoints (snippet, collect, pixel) under /t/."""

from django.urls import URLPattern, URLResolver

app_name = "tracking"

urlpatterns: list[URLPattern | URLResolver] = []
