"""Predictive scoring pages (included by ``scoring/urls.py`` in the ``scoring`` namespace)."""

from django.urls import URLPattern, path

from sokyaku.scoring.predictive import views

urlpatterns: list[URLPattern] = [
    path("", views.predictive, name="predictive"),
    path("train/", views.predictive_train, name="predictive_train"),
    path("status/", views.predictive_status, name="predictive_status"),
]
