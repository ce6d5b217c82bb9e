"""Contacts UI routes (under ``/contacts/``)."""

from django.urls import path

from sokyaku.contacts import import_views, pending_views, views

app_name = "contacts"

urlpatterns = [
    path("", views.contact_list, name="list"),
    path("<int:contact_id>/", views.contact_detail, name="detail"),
    path("<int:contact_id>/timeline/", views.contact_timeline, name="timeline"),
    path("<int:contact_id>/notes/", views.contact_note_add, name="note_add"),
    path("<int:contact_id>/edit/", views.contact_edit, name="edit"),
    path("<int:contact_id>/merge/", views.contact_merge, name="merge"),
    path(
        "<int:contact_id>/merges/<int:merge_id>/undo/",
        views.contact_merge_undo,
        name="merge_undo",
    ),
    path("export/", import_views.contact_export, name="export"),
    path("imports/", import_views.import_index, name="import_index"),
    path("imports/<int:job_id>/", import_views.import_detail, name="import_detail"),
    path("imports/<int:job_id>/mapping/", import_views.import_mapping, name="import_mapping"),
    path("imports/<int:job_id>/preview/", import_views.import_preview, name="import_preview"),
    path("imports/<int:job_id>/progress/", import_views.import_progress, name="import_progress"),
    path("imports/<int:job_id>/errors/", import_views.import_error_report, name="import_errors"),
    path(
        "<int:contact_id>/pending/<int:change_id>/accept/",
        pending_views.pending_change_accept,
        name="pending_accept",
    ),
    path(
        "<int:contact_id>/pending/<int:change_id>/reject/",
        pending_views.pending_change_reject,
        name="pending_reject",
    ),
]
