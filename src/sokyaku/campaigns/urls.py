"""Channels, mapping rules, campaigns and costs UI (under ``/campaigns/``)."""

from django.urls import path

from sokyaku.campaigns import views

app_name = "campaigns"

urlpatterns = [
    path("", views.channel_list, name="channel_list"),
    path("channels/new/", views.channel_create, name="channel_create"),
    path("channels/<int:channel_id>/", views.channel_detail, name="channel_detail"),
    path("channels/<int:channel_id>/edit/", views.channel_edit, name="channel_edit"),
    path("rules/", views.rule_list, name="rule_list"),
    path("rules/new/", views.rule_create, name="rule_create"),
    path("rules/reapply/", views.rules_reapply, name="rules_reapply"),
    path("rules/<int:rule_id>/edit/", views.rule_edit, name="rule_edit"),
    path("rules/<int:rule_id>/delete/", views.rule_delete, name="rule_delete"),
    path("rules/<int:rule_id>/move/", views.rule_move, name="rule_move"),
    path("costs/", views.cost_grid, name="costs"),
    path("costs/campaign/", views.campaign_cost_add, name="campaign_cost_add"),
    path("costs/upload/", views.cost_upload, name="cost_upload"),
    path("costs/template.csv", views.cost_template, name="cost_template"),
    path("costs/<int:cost_id>/delete/", views.cost_delete, name="cost_delete"),
    path("list/", views.campaign_list, name="campaign_list"),
    path("list/<int:campaign_id>/edit/", views.campaign_edit, name="campaign_edit"),
    path("tracking/", views.tracking_setup, name="tracking"),
]
