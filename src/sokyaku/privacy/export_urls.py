"""Privacy UI routes for the export of a person (under ``/privacy/``)."""

from django.urls import path

from sokyaku.privacy import export_views

app_name = "privacy_export"

urlpatterns = [
    path("contacts/<int:contact_id>/export/", export_views.person_export, name="person"),
]
