"""Analytics UI: the dashboard, funnel, channel table, attribution, reports and drill-downs.

Every table page also answers ``?format=csv`` and ``?format=xlsx``."""

from django.urls import path

from sokyaku.analytics.views import attribution, dashboard, reports

app_name = "analytics"

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("funnel/", dashboard.funnel, name="funnel"),
    path("channels/", dashboard.channels, name="channels"),
    path("contacts/", dashboard.contacts, name="contacts"),
    path("attribution/", attribution.attribution, name="attribution"),
    path("sequences/", reports.sequences, name="sequences"),
    path("handoffs/", reports.handoffs, name="handoffs"),
    path("forecast/", reports.forecast, name="forecast"),
]
