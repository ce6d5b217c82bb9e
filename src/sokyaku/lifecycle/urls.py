"""Lifecycle UI: MQL rules and SQL criteria; the contact panel's actions."""

from django.urls import path

from sokyaku.lifecycle import views

app_name = "lifecycle"

urlpatterns = [
    path("", views.rules, name="rules"),
    path("rules/new/", views.rule_edit, name="rule_new"),
    path("rules/count/", views.rule_count, name="rule_count"),
    path("rules/apply/", views.rules_apply, name="rules_apply"),
    path("rules/<int:rule_id>/", views.rule_edit, name="rule_edit"),
    path("rules/<int:rule_id>/toggle/", views.rule_toggle, name="rule_toggle"),
    path("rules/<int:rule_id>/delete/", views.rule_delete, name="rule_delete"),
    path("sql-criteria/", views.sql_criteria, name="sql_criteria"),
    path("contacts/<int:contact_id>/move/", views.contact_move, name="contact_move"),
    path("contacts/<int:contact_id>/bant/", views.contact_bant, name="contact_bant"),
]
