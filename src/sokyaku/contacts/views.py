"""Contacts UI (placeholder until the list and detail pages land)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse


@login_required
def contact_list(request: HttpRequest) -> HttpResponse:
    return HttpResponse("contacts")


@login_required
def contact_detail(request: HttpRequest, contact_id: int) -> HttpResponse:
    return HttpResponse("contact")
