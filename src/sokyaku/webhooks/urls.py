"""Outgoing webhooks UI under /webhooks/: subscriptions, the delivery log, replay."""

from django.urls import path

from sokyaku.webhooks import views

app_name = "webhooks"

urlpatterns = [
    path("", views.subscription_list, name="list"),
    path("new/", views.subscription_create, name="create"),
    path("<int:subscription_id>/", views.subscription_detail, name="detail"),
    path("<int:subscription_id>/rotate/", views.subscription_rotate, name="rotate"),
    path("<int:subscription_id>/active/", views.subscription_active, name="active"),
    path("<int:subscription_id>/delete/", views.subscription_delete, name="delete"),
    path("<int:subscription_id>/replay/", views.deliveries_replay, name="replay"),
    path(
        "<int:subscription_id>/deliveries/<int:delivery_id>/",
        views.delivery_detail,
        name="delivery",
    ),
    path(
        "<int:subscription_id>/deliveries/<int:delivery_id>/replay/",
        views.delivery_replay,
        name="delivery_replay",
    ),
]
