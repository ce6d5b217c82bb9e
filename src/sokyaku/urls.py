"""URL map: the UI (login required), the JSON API under /api/v1/, health checks (``/healthz``
liveness, ``/readyz`` readiness) and Prometheus metrics (``/metrics``)."""

from django.contrib import admin
from django.urls import include, path

from sokyaku.api import api
from sokyaku.monitoring import views as monitoring_views

urlpatterns = [
    path("", include("sokyaku.core.urls")),
    path("readyz", monitoring_views.readyz, name="readyz"),
    path("metrics", monitoring_views.metrics_view, name="metrics"),
    path("contacts/", include("sokyaku.contacts.urls")),
    path("capture/", include("sokyaku.capture.urls")),
    path("campaigns/", include("sokyaku.campaigns.urls")),
    path("consent/", include("sokyaku.consent.urls")),
    path("scoring/", include("sokyaku.scoring.urls")),
    path("segments/", include("sokyaku.segments.urls")),
    path("lifecycle/", include("sokyaku.lifecycle.urls")),
    path("sequences/", include("sokyaku.sequences.urls")),
    path("messaging/", include("sokyaku.messaging.urls")),
    path("handoffs/", include("sokyaku.handoff.urls")),
    path("deals/", include("sokyaku.deals.urls")),
    path("analytics/", include("sokyaku.analytics.urls")),
    path("webhooks/", include("sokyaku.webhooks.urls")),
    path("privacy/", include("sokyaku.privacy.export_urls")),
    path("privacy/", include("sokyaku.privacy.erasure_urls")),
    # Public endpoints (no login): hosted forms, landing pages, assets, tracking.
    path("", include("sokyaku.capture.public_urls")),
    path("t/", include("sokyaku.activity.public_urls")),
    # Mail links: open pixel, click redirect, one-click unsubscribe, preference centre.
    path("m/", include("sokyaku.messaging.public_urls")),
    # Referral links a customer shares.
    path("r/", include("sokyaku.deals.public_urls")),
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
