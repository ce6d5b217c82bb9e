"""Handoff UI: the sales inbox, a handoff's page and actions, the contact panel's activity form,
and the settings pages (triggers, routing, teams, alerts)."""

from django.urls import path

from sokyaku.handoff.views import inbox, setup

app_name = "handoff"

urlpatterns = [
    path("", inbox.inbox, name="inbox"),
    path("<int:handoff_id>/", inbox.detail, name="detail"),
    path("<int:handoff_id>/reject/", inbox.reject, name="reject"),
    path("<int:handoff_id>/reassign/", inbox.reassign, name="reassign"),
    path("<int:handoff_id>/activity/", inbox.activity, name="activity"),
    path("contacts/<int:contact_id>/activity/", inbox.contact_activity, name="contact_activity"),
    path("settings/", setup.settings, name="settings"),
    path("settings/triggers/", setup.triggers, name="triggers"),
    path("settings/triggers/new/", setup.trigger_edit, name="trigger_new"),
    path("settings/triggers/<int:trigger_id>/", setup.trigger_edit, name="trigger_edit"),
    path("settings/triggers/<int:trigger_id>/delete/", setup.trigger_delete, name="trigger_delete"),
    path("settings/routing/", setup.routing, name="routing"),
    path("settings/routing/new/", setup.rule_edit, name="rule_new"),
    path("settings/routing/<int:rule_id>/", setup.rule_edit, name="rule_edit"),
    path("settings/routing/<int:rule_id>/move/", setup.rule_move, name="rule_move"),
    path("settings/routing/<int:rule_id>/delete/", setup.rule_delete, name="rule_delete"),
    path("settings/teams/", setup.teams, name="teams"),
    path("settings/teams/new/", setup.team_edit, name="team_new"),
    path("settings/teams/<int:team_id>/", setup.team_edit, name="team_edit"),
    path("settings/teams/<int:team_id>/delete/", setup.team_delete, name="team_delete"),
    path("settings/members/<int:member_id>/away/", setup.member_away, name="member_away"),
]
