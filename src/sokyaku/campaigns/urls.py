"""Channels, mapping rules, campaigns and costs UI."""

from django.urls import URLPattern, URLResolver

app_name = "campaigns"

urlpatterns: list[URLPattern | URLResolver] = []
