"""Sequences UI."""

from django.urls import path

from sokyaku.sequences import views

app_name = "sequences"

urlpatterns = [
    path("", views.sequence_list, name="list"),
    path("new/", views.sequence_create, name="create"),
    path("<int:sequence_id>/", views.sequence_detail, name="detail"),
    # Before the status actions, whose ``<str:action>`` would take "settings".
    path("<int:sequence_id>/settings/", views.sequence_settings, name="settings"),
    path("<int:sequence_id>/steps/", views.step_add, name="step_add"),
    # Before the step actions, whose ``<str:action>`` would take "variants", "edit", "move".
    path(
        "<int:sequence_id>/steps/<int:step_id>/variants/",
        views.step_variants,
        name="step_variants",
    ),
    path("<int:sequence_id>/steps/<int:step_id>/edit/", views.step_edit, name="step_edit"),
    path("<int:sequence_id>/steps/<int:step_id>/move/", views.step_move, name="step_move"),
    path(
        "<int:sequence_id>/steps/<int:step_id>/<str:action>/",
        views.step_change,
        name="step_change",
    ),
    path("<int:sequence_id>/<str:action>/", views.sequence_status, name="status"),
    path("contacts/<int:contact_id>/enroll/", views.contact_enroll, name="contact_enroll"),
    path("enrollments/<int:enrollment_id>/remove/", views.enrollment_remove, name="remove"),
]
