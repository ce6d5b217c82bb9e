"""Scoring UI: rules, versions, recompute progress; predictive scoring under ``predictive/``."""

from django.urls import URLPattern, URLResolver, include, path

app_name = "scoring"

urlpatterns: list[URLPattern | URLResolver] = [
    path("predictive/", include("sokyaku.scoring.predictive.urls")),
]
