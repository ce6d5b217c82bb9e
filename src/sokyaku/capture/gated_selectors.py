"""Reads of gated assets and webinars, permission-checked for the user asking (``None`` is the
system itself)."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from sokyaku.capture.models import Asset, Form, Webinar, WebinarRegistration
from sokyaku.capture.selectors import AnyUser
from sokyaku.core.errors import NotFound, PermissionDenied


def _require(user: AnyUser | None, perm: str) -> None:
    if user is not None and not user.has_perm(perm):
        raise PermissionDenied("You do not have permission to see assets and webinars.")


def asset_list(*, user: AnyUser | None) -> QuerySet[Asset]:
    """Every asset, most recently changed first."""
    _require(user, "capture.view_asset")
    return Asset.objects.order_by("-updated_at", "-id")


def asset_get(*, user: AnyUser | None, id: int) -> Asset:
    _require(user, "capture.view_asset")
    asset = Asset.objects.filter(pk=id).first()
    if asset is None:
        raise NotFound(f"No asset with id {id}.")
    return asset


def kind_forms(*, kind: str, option: str, id: int) -> list[Form]:
    """The forms of a kind whose options point at one asset or webinar."""
    return [
        form
        for form in Form.objects.filter(kind=kind).order_by("name", "id")
        if str(form.kind_options.get(option)) == str(id)
    ]


def webinar_list(*, user: AnyUser | None) -> QuerySet[Webinar]:
    """Every webinar, latest start first, with its registration and attendance counts."""
    _require(user, "capture.view_webinar")
    return Webinar.objects.annotate(
        registration_count=Count("registrations"),
        attended_count=Count("registrations", filter=Q(registrations__attended=True)),
    ).order_by("-starts_at", "-id")


def webinar_get(*, user: AnyUser | None, id: int) -> Webinar:
    _require(user, "capture.view_webinar")
    webinar = Webinar.objects.filter(pk=id).first()
    if webinar is None:
        raise NotFound(f"No webinar with id {id}.")
    return webinar


def registration_list(*, user: AnyUser | None, webinar: Webinar) -> QuerySet[WebinarRegistration]:
    """A webinar's registrants with their contact and company (one query)."""
    _require(user, "capture.view_webinar")
    return (
        WebinarRegistration.objects.filter(webinar=webinar)
        .select_related("contact", "contact__company")
        .order_by("registered_at", "id")
    )
