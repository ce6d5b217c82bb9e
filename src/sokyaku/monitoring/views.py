"""``GET /readyz`` (JSON, 200 ready / 503 not) and ``GET /metrics`` (Prometheus text, behind a
bearer token; 404 when no token is configured)."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from sokyaku.monitoring import metrics
from sokyaku.monitoring.readiness import is_ready, readiness_checks


@require_safe
@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """Each check with its value and bound; 503 when any is not ok (for load balancers and
    monitoring; ``/healthz`` stays the liveness probe)."""
    checks = readiness_checks()
    ready = is_ready(checks)
    body = {
        "status": "ready" if ready else "not ready",
        "checks": {check.name: check.as_json() for check in checks},
    }
    return JsonResponse(body, status=200 if ready else 503)


def _bearer(request: HttpRequest) -> str:
    scheme, _space, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


@require_safe
@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    expected = settings.METRICS_TOKEN
    if not expected:
        raise Http404("No metrics token is configured.")
    if not hmac.compare_digest(_bearer(request).encode(), expected.encode()):
        response = HttpResponse("Unauthorized.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(metrics.registry()), content_type=CONTENT_TYPE_LATEST)
