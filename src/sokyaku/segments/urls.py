"""Segments UI."""

from django.urls import URLPattern, path

from sokyaku.segments import views

app_name = "segments"

urlpatterns: list[URLPattern] = [
    path("", views.segment_list, name="list"),
    path("new/", views.segment_create, name="create"),
    path("count/", views.segment_count, name="count"),
    path("<int:segment_id>/", views.segment_detail, name="detail"),
    path("<int:segment_id>/edit/", views.segment_edit, name="edit"),
    path("<int:segment_id>/refresh/", views.segment_refresh, name="refresh"),
    path("<int:segment_id>/members/add/", views.segment_members_add, name="members_add"),
    path("<int:segment_id>/members/remove/", views.segment_members_remove, name="members_remove"),
    path("<int:segment_id>/export/<str:format>/", views.segment_export, name="export"),
    path("<int:segment_id>/archive/", views.segment_archive, name="archive"),
]
