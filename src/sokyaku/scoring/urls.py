"""Scoring UI: rules, versions, recompute progress; predictive scoring under ``predictive/``."""

from django.urls import URLPattern, URLResolver, include, path

from sokyaku.scoring import views

app_name = "scoring"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.rules, name="rules"),
    path("rules/new/<str:kind>/", views.rule_create, name="rule_create"),
    path("rules/<int:index>/edit/", views.rule_edit, name="rule_edit"),
    path("rules/<int:index>/delete/", views.rule_delete, name="rule_delete"),
    path("settings/", views.settings_save, name="settings"),
    path("preset/", views.preset_install, name="preset"),
    path("versions/<int:version>/restore/", views.version_restore, name="version_restore"),
    path("export/", views.export, name="export"),
    path("import/", views.import_, name="import"),
    path("runs/<int:run_id>/", views.run_status, name="run_status"),
    path("predictive/", include("sokyaku.scoring.predictive.urls")),
]
