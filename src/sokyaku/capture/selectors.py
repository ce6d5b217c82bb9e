"""Reads of forms, submissions and landing pages.

The UI selectors are permission-checked for the user asking (``None`` is the system itself:
the API, whose keys are checked for scopes before we get here). The ``*_public_get`` selectors
serve the public endpoints and answer only published rows.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Count, Max, Min, Prefetch, QuerySet

from sokyaku.capture.models import Form, FormConsent, FormField, LandingPage, PageBlock, Submission
from sokyaku.consent.models import ConsentTopic, PurposeText
from sokyaku.core.errors import NotFound, PermissionDenied

AnyUser = User | AnonymousUser

RATE_WINDOW = timedelta(hours=1)


def _require(user: AnyUser | None, perm: str) -> None:
    if user is not None and not user.has_perm(perm):
        raise PermissionDenied("You do not have permission to see forms and landing pages.")


def _with_parts(qs: QuerySet[Form]) -> QuerySet[Form]:
    return qs.prefetch_related(
        Prefetch("fields", queryset=FormField.objects.order_by("order", "id")),
        Prefetch(
            "consents", queryset=FormConsent.objects.select_related("topic").order_by("order", "id")
        ),
    )


def form_list(*, user: AnyUser | None) -> QuerySet[Form]:
    """Every form, most recently changed first, with its submission count and latest time."""
    _require(user, "capture.view_form")
    return Form.objects.annotate(
        submission_count=Count("submissions"), last_submitted_at=Max("submissions__submitted_at")
    ).order_by("-updated_at", "-id")


def form_get(*, user: AnyUser | None, id: int) -> Form:
    """One form with its fields and consent checkboxes."""
    _require(user, "capture.view_form")
    form = _with_parts(Form.objects.filter(pk=id)).first()
    if form is None:
        raise NotFound(f"No form with id {id}.")
    return form


def form_public_get(*, slug: str) -> Form:
    """A published form by its address, with fields and consent checkboxes."""
    form = _with_parts(Form.objects.filter(slug=slug, is_published=True)).first()
    if form is None:
        raise NotFound(f"No published form {slug}.")
    return form


def form_choices(*, user: AnyUser | None) -> list[Form]:
    """Forms for a picker (a landing page's form block), by name."""
    _require(user, "capture.view_form")
    return list(Form.objects.order_by("name", "id").only("id", "name", "slug", "is_published"))


def purpose_text_current(*, key: str) -> PurposeText | None:
    """The latest version of a purpose-of-use text, or ``None`` when there is none."""
    if not key:
        return None
    return PurposeText.objects.filter(key=key).order_by("-version").first()


def purpose_text_get(*, id: int) -> PurposeText | None:
    return PurposeText.objects.filter(pk=id).first()


def purpose_text_keys() -> list[PurposeText]:
    """The latest version of every purpose-of-use text (pickers)."""
    latest: dict[str, PurposeText] = {}
    for text in PurposeText.objects.order_by("key", "-version"):
        latest.setdefault(text.key, text)
    return list(latest.values())


def consent_topics() -> list[ConsentTopic]:
    """Active consent topics (the checkboxes a form may offer), by name."""
    return list(ConsentTopic.objects.filter(is_active=True).order_by("name"))


def submission_list(*, user: AnyUser | None, form: Form) -> QuerySet[Submission]:
    """A form's submissions, newest first, with their contacts."""
    _require(user, "capture.view_submission")
    return (
        Submission.objects.filter(form=form)
        .select_related("contact", "contact__company")
        .order_by("-submitted_at", "-id")
    )


def submission_by_token(*, token: str) -> Submission | None:
    return Submission.objects.select_related("form", "contact").filter(token=token).first()


def submission_get(*, id: int) -> Submission | None:
    return Submission.objects.select_related("form", "contact").filter(pk=id).first()


def submissions_recent(*, form: Form, ip: str, since: datetime) -> tuple[int, datetime | None]:
    """How often this address submitted this form since ``since``, and when first (the rate
    limit: counted from stored rows, so every web process sees the same number)."""
    found = Submission.objects.filter(form=form, ip=ip, submitted_at__gte=since).aggregate(
        count=Count("id"), first=Min("submitted_at")
    )
    return int(found["count"]), found["first"]


def page_list(*, user: AnyUser | None) -> QuerySet[LandingPage]:
    _require(user, "capture.view_landingpage")
    return LandingPage.objects.annotate(block_count=Count("blocks")).order_by("-updated_at", "-id")


def _with_blocks(qs: QuerySet[LandingPage]) -> QuerySet[LandingPage]:
    return qs.prefetch_related(
        Prefetch(
            "blocks", queryset=PageBlock.objects.select_related("form").order_by("order", "id")
        )
    )


def page_get(*, user: AnyUser | None, id: int) -> LandingPage:
    _require(user, "capture.view_landingpage")
    page = _with_blocks(LandingPage.objects.filter(pk=id)).first()
    if page is None:
        raise NotFound(f"No landing page with id {id}.")
    return page


def page_public_get(*, slug: str) -> LandingPage:
    page = _with_blocks(LandingPage.objects.filter(slug=slug, is_published=True)).first()
    if page is None:
        raise NotFound(f"No published landing page {slug}.")
    return page
