"""UI of gated assets and webinars under /capture/ (included by ``capture.urls``)."""

from django.urls import URLPattern, URLResolver, path

from sokyaku.capture import asset_views, webinar_views

urlpatterns: list[URLPattern | URLResolver] = [
    path("assets/", asset_views.asset_list, name="asset_list"),
    path("assets/new/", asset_views.asset_create, name="asset_create"),
    path("assets/<int:asset_id>/", asset_views.asset_edit, name="asset_edit"),
    path("assets/<int:asset_id>/form/", asset_views.asset_form_create, name="asset_form_create"),
    path("webinars/", webinar_views.webinar_list, name="webinar_list"),
    path("webinars/new/", webinar_views.webinar_create, name="webinar_create"),
    path("webinars/<int:webinar_id>/", webinar_views.webinar_detail, name="webinar_detail"),
    path("webinars/<int:webinar_id>/edit/", webinar_views.webinar_edit, name="webinar_edit"),
    path(
        "webinars/<int:webinar_id>/attendance/",
        webinar_views.webinar_attendance,
        name="webinar_attendance",
    ),
    path(
        "webinars/<int:webinar_id>/form/",
        webinar_views.webinar_form_create,
        name="webinar_form_create",
    ),
]
