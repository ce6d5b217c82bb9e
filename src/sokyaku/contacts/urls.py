"""Contacts UI routes (under ``/contacts/``)."""

from django.urls import path

from sokyaku.contacts import views

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
]
