"""Lead capture UI (forms, landing pages) under /capture/."""

from django.urls import URLPattern, URLResolver, include, path

from sokyaku.capture import views

app_name = "capture"

urlpatterns: list[URLPattern | URLResolver] = [
    path("forms/", views.form_list, name="form_list"),
    path("forms/new/", views.form_create, name="form_create"),
    path("forms/<int:form_id>/", views.form_detail, name="form_detail"),
    path("forms/<int:form_id>/edit/", views.form_edit, name="form_edit"),
    path("forms/<int:form_id>/fields/", views.form_fields, name="form_fields"),
    path("forms/<int:form_id>/fields/add/", views.form_field_add, name="form_field_add"),
    path(
        "forms/<int:form_id>/fields/<int:field_id>/",
        views.form_field_change,
        name="form_field_change",
    ),
    path(
        "forms/<int:form_id>/fields/<int:field_id>/remove/",
        views.form_field_remove,
        name="form_field_remove",
    ),
    path(
        "forms/<int:form_id>/fields/<int:field_id>/move/",
        views.form_field_move,
        name="form_field_move",
    ),
    path("forms/<int:form_id>/publish/", views.form_publish, name="form_publish"),
    path("forms/<int:form_id>/unpublish/", views.form_unpublish, name="form_unpublish"),
    path("pages/", views.page_list, name="page_list"),
    path("pages/new/", views.page_create, name="page_create"),
    path("pages/<int:page_id>/", views.page_detail, name="page_detail"),
    path("pages/<int:page_id>/blocks/add/", views.page_block_add, name="page_block_add"),
    path(
        "pages/<int:page_id>/blocks/<int:block_id>/",
        views.page_block_change,
        name="page_block_change",
    ),
    path(
        "pages/<int:page_id>/blocks/<int:block_id>/remove/",
        views.page_block_remove,
        name="page_block_remove",
    ),
    path(
        "pages/<int:page_id>/blocks/<int:block_id>/move/",
        views.page_block_move,
        name="page_block_move",
    ),
    path("pages/<int:page_id>/publish/", views.page_publish, name="page_publish"),
    path("pages/<int:page_id>/unpublish/", views.page_unpublish, name="page_unpublish"),
    path("", include("sokyaku.capture.gated_urls")),  # assets and webinars
]
