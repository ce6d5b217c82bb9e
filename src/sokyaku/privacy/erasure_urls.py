"""Erasure, deletion and retention pages (under ``/privacy/``)."""

from django.urls import path

from sokyaku.privacy import erasure_views as views

app_name = "erasure"

urlpatterns = [
    path("erasures/", views.erasure_log, name="log"),
    path("erasures/jobs/<int:job_id>/", views.job_detail, name="job"),
    path("contacts/<int:contact_id>/erase/", views.contact_erase, name="contact"),
    path("segments/<int:segment_id>/erase/", views.segment_erase, name="segment"),
    path("retention/", views.retention_settings, name="retention"),
]
