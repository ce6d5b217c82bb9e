"""Public tracking endpoints (snippet, collect, pixel, notice) under /t/."""

from django.urls import path

from sokyaku.activity import views

app_name = "tracking"

urlpatterns = [
    path("snippet.js", views.snippet, name="snippet"),
    path("collect", views.collect, name="collect"),
    path("pixel.gif", views.pixel, name="pixel"),
    path("notice", views.notice, name="notice"),
]
