"""Predictive scoring pages (included by ``scoring/urls.py`` in the ``scoring`` namespace)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
