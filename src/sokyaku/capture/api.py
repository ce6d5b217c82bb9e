"""``/api/v1/forms``: list, create, read, change, publish and unpublish forms, and read their
submissions.

Thin by design: shapes here, rules in ``capture.services.forms`` (a form cannot be published
without a purpose-of-use text, a required identity field …). Reading needs the ``forms:read``
scope, writing ``forms:write``. Submissions are read as the key's creator (a sales rep's key
gets those of the rep's contacts only); every page of them is written to the data-access log.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from ninja import Field, P, PathEx, Query, Router, Schema, Status
from pydantic import ConfigDict

from sokyaku.capture import display, selectors
from sokyaku.capture.models import FieldType, Form
from sokyaku.capture.services import forms as services
from sokyaku.consent.models import PurposeText
from sokyaku.contacts.selectors import contact_visible_q
from sokyaku.core.apikeys import ApiKeyAuth
from sokyaku.core.models import AccessKind, ApiScope
from sokyaku.core.schemas import error_responses, paged, responses_extra
from sokyaku.core.services import data_access_log
from sokyaku.core.visibility import api_key, api_user

router = Router(tags=["forms"])

MAX_ID = 2**63 - 1
FormId = PathEx[int, P(ge=1, le=MAX_ID, description="The form's id.")]


_LIST_ERRORS = (401, 403, 422)
_CREATE_ERRORS = (401, 403, 413, 415, 422)
_GET_ERRORS = (401, 403, 404, 422)
_PATCH_ERRORS = (401, 403, 404, 413, 415, 422)
_ACTION_ERRORS = (401, 403, 404, 422)

_FORM_LINKS = {
    "GetForm": {
        "operationId": "form_get",
        "parameters": {"form_id": "$response.body#/id"},
        "description": "Read the form.",
    },
    "PublishForm": {
        "operationId": "form_publish",
        "parameters": {"form_id": "$response.body#/id"},
        "description": "Publish the form.",
    },
    "FormSubmissions": {
        "operationId": "form_submissions",
        "parameters": {"form_id": "$response.body#/id"},
        "description": "Read the form's submissions.",
    },
}

Option = Annotated[str, Field(max_length=200)]
Origin = Annotated[str, Field(max_length=300)]
TagName = Annotated[str, Field(max_length=60)]


class FieldIn(Schema):
    """One field. Contact field types (name, email …) appear at most once; ``key`` names the
    answer of other types (made from the label when empty)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    type: FieldType = Field(strict=False, examples=["email"])
    label: str = Field(max_length=200, examples=["メールアドレス"])
    key: str = Field("", max_length=50)
    required: bool = False
    help_text: str = Field("", max_length=500)
    options: list[Option] = Field(default_factory=list, max_length=100)
    default_value: str = Field("", max_length=500)
    custom_field_key: str = Field(
        "", max_length=50, description="Also save the answer to this custom contact field."
    )


class ConsentIn(Schema):
    model_config = ConfigDict(extra="forbid", strict=True)

    topic: str = Field(max_length=50, description="Consent topic key.", examples=["newsletter"])
    label: str = Field("", max_length=300, description="Text beside the checkbox.")
    required: bool = False


class FormPatch(Schema):
    """A form's settings. Omitted (or null) fields stay as they are; ``fields`` and
    ``consents`` replace the form's lists as a whole."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: str | None = Field(None, max_length=200, examples=["資料請求フォーム"])
    slug: str | None = Field(None, max_length=80, description="The form is at /f/<slug>.")
    kind: str | None = Field(None, max_length=40, description="standard, inquiry, …")
    kind_options: dict[str, Any] | None = None
    language: Literal["ja", "en"] | None = None
    title: str | None = Field(None, max_length=200)
    introduction: str | None = Field(None, max_length=5000)
    submit_label: str | None = Field(None, max_length=50)
    purpose_text: str | None = Field(
        None,
        max_length=50,
        description="Key of a shared purpose-of-use text (its latest version is shown); "
        '"" removes the text (drafts only).',
    )
    purpose_title: str | None = Field(None, max_length=200)
    purpose_body: str | None = Field(
        None,
        max_length=20000,
        description="The form's own purpose-of-use text; a changed text is a new version.",
    )
    require_agreement: bool | None = None
    double_opt_in: bool | None = None
    thank_you_message: str | None = Field(None, max_length=5000)
    redirect_url: str | None = Field(
        None, max_length=500, description="Must be on this site or an allowed site."
    )
    allowed_origins: list[Origin] | None = Field(
        None,
        max_length=50,
        description="Sites that may embed the form: https://www.example.co.jp, "
        "www.example.co.jp or *.example.co.jp.",
    )
    rate_limit: int | None = Field(None, ge=0, le=10_000, description="Per IP address per hour.")
    min_fill_seconds: int | None = Field(None, ge=0, le=3600)
    tags: list[TagName] | None = Field(None, max_length=20)
    fields: list[FieldIn] | None = Field(None, max_length=50)
    consents: list[ConsentIn] | None = Field(None, max_length=50)


class FormIn(FormPatch):
    name: str = Field(max_length=200, examples=["資料請求フォーム"])


class FieldOut(Schema):
    key: str
    type: str
    label: str
    required: bool
    help_text: str
    options: list[str]
    default_value: str
    custom_field_key: str


class ConsentOut(Schema):
    topic: str
    label: str
    required: bool

    @staticmethod
    def resolve_topic(obj: Any) -> str:
        return str(obj.topic.key)


class PurposeTextOut(Schema):
    key: str
    version: int
    title: str
    body: str
    sha256: str


class FormOut(Schema):
    id: int
    name: str
    slug: str
    kind: str
    kind_options: dict[str, Any]
    language: str
    title: str
    introduction: str
    submit_label: str
    purpose_text: PurposeTextOut | None = Field(description="The version the form shows now.")
    require_agreement: bool
    double_opt_in: bool
    thank_you_message: str
    redirect_url: str
    allowed_origins: list[str]
    rate_limit: int
    min_fill_seconds: int
    tags: list[str]
    is_published: bool
    published_at: datetime | None
    created_at: datetime
    updated_at: datetime
    url: str = Field(description="The hosted form.")
    embed_code: str = Field(description="HTML to paste into an allowed site.")
    fields: list[FieldOut]
    consents: list[ConsentOut]

    @staticmethod
    def resolve_purpose_text(obj: Form) -> PurposeText | None:
        return getattr(obj, "current_purpose_text", None)

    @staticmethod
    def resolve_url(obj: Form) -> str:
        return settings.SITE_URL + reverse("public:form", kwargs={"slug": obj.slug})

    @staticmethod
    def resolve_embed_code(obj: Form) -> str:
        return display.embed_code(form=obj)

    @staticmethod
    def resolve_fields(obj: Form) -> list[Any]:
        return list(obj.fields.all())

    @staticmethod
    def resolve_consents(obj: Form) -> list[Any]:
        return list(obj.consents.all())


class FormPage(Schema):
    items: list[FormOut]
    count: int
    page: int
    pages: int


class SubmissionOut(Schema):
    id: int
    submitted_at: datetime
    contact_id: int | None
    data: dict[str, Any] = Field(description="The answers, by input name.")
    utm: dict[str, str]
    page_url: str
    referrer: str
    ip: str | None
    user_agent: str
    purpose_text_version: int | None
    confirmed_at: datetime | None

    @staticmethod
    def resolve_purpose_text_version(obj: Any) -> int | None:
        return obj.purpose_text.version if obj.purpose_text_id else None


class SubmissionPage(Schema):
    items: list[SubmissionOut]
    count: int
    page: int
    pages: int


class PageParams(Schema):
    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(50, ge=1, le=200)


def _input(payload: FormPatch) -> services.FormInput:
    data = payload.model_dump(exclude_unset=True)
    if "purpose_text" in data:
        data["purpose_key"] = data.pop("purpose_text")
    return services.form_input_from_mapping({k: v for k, v in data.items() if v is not None})


def _with_text(forms: list[Form]) -> list[Form]:
    """Attach each form's current purpose-of-use version (one query for the page)."""
    keys = {f.purpose_key for f in forms if f.purpose_key}
    latest: dict[str, PurposeText] = {}
    for text in PurposeText.objects.filter(key__in=keys).order_by("key", "-version"):
        latest.setdefault(text.key, text)
    for form in forms:
        form.current_purpose_text = latest.get(form.purpose_key)  # type: ignore[attr-defined]
    return forms


def _one(form_id: int) -> Form:
    return _with_text([selectors.form_get(user=None, id=form_id)])[0]


@router.get(
    "",
    response={200: FormPage, **error_responses(*_LIST_ERRORS)},
    auth=ApiKeyAuth(ApiScope.FORMS_READ, "capture.view_form"),
    operation_id="form_list",
    summary="List forms, most recently changed first",
    description="Paged with `page` and `page_size`. Needs the `forms:read` scope.",
    openapi_extra=responses_extra(_LIST_ERRORS),
)
def form_list(request: HttpRequest, params: Query[PageParams]) -> dict[str, Any]:
    qs = selectors.form_list(user=None).prefetch_related("fields", "consents__topic")
    return paged(qs, page=params.page, page_size=params.page_size, prepare=_with_text)


@router.post(
    "",
    response={201: FormOut, **error_responses(*_CREATE_ERRORS)},
    auth=ApiKeyAuth(ApiScope.FORMS_WRITE, "capture.add_form"),
    operation_id="form_create",
    summary="Create a draft form",
    description=(
        "Creates an unpublished form. Publish it with `POST /forms/{id}/publish` once it has a "
        "purpose-of-use text and a required email, phone or name field. Needs the "
        "`forms:write` scope."
    ),
    openapi_extra=responses_extra(_CREATE_ERRORS, links={201: _FORM_LINKS}),
)
def form_create(request: HttpRequest, payload: FormIn) -> Status[Form]:
    form = services.form_create(data=_input(payload))
    return Status(201, _one(form.pk))


@router.get(
    "/{form_id}",
    response={200: FormOut, **error_responses(*_GET_ERRORS)},
    auth=ApiKeyAuth(ApiScope.FORMS_READ, "capture.view_form"),
    operation_id="form_get",
    summary="Get a form with its fields, consent checkboxes and purpose-of-use text",
    description="Needs the `forms:read` scope.",
    openapi_extra=responses_extra(_GET_ERRORS),
)
def form_get(request: HttpRequest, form_id: FormId) -> Form:
    return _one(form_id)


@router.patch(
    "/{form_id}",
    response={200: FormOut, **error_responses(*_PATCH_ERRORS)},
    auth=ApiKeyAuth(ApiScope.FORMS_WRITE, "capture.change_form"),
    operation_id="form_update",
    summary="Change a form",
    description=(
        "Given settings replace the form's; `fields` and `consents` replace the lists as a "
        "whole. A published form must stay publishable (422 otherwise). Needs the "
        "`forms:write` scope."
    ),
    openapi_extra=responses_extra(_PATCH_ERRORS),
)
def form_update(request: HttpRequest, form_id: FormId, payload: FormPatch) -> Form:
    form = selectors.form_get(user=None, id=form_id)
    services.form_update(form=form, data=_input(payload))
    return _one(form.pk)


@router.post(
    "/{form_id}/publish",
    response={200: FormOut, **error_responses(*_ACTION_ERRORS)},
    auth=ApiKeyAuth(ApiScope.FORMS_WRITE, "capture.change_form"),
    operation_id="form_publish",
    summary="Publish a form at /f/<slug>",
    description=(
        "422 names everything still missing, e.g. `purpose_key` when there is no "
        "purpose-of-use text. Needs the `forms:write` scope."
    ),
    openapi_extra=responses_extra(_ACTION_ERRORS),
)
def form_publish(request: HttpRequest, form_id: FormId) -> Form:
    form = selectors.form_get(user=None, id=form_id)
    services.form_publish(form=form)
    return _one(form.pk)


@router.post(
    "/{form_id}/unpublish",
    response={200: FormOut, **error_responses(*_ACTION_ERRORS)},
    auth=ApiKeyAuth(ApiScope.FORMS_WRITE, "capture.change_form"),
    operation_id="form_unpublish",
    summary="Take a form off line (its submissions stay)",
    description="Needs the `forms:write` scope.",
    openapi_extra=responses_extra(_ACTION_ERRORS),
)
def form_unpublish(request: HttpRequest, form_id: FormId) -> Form:
    form = selectors.form_get(user=None, id=form_id)
    services.form_unpublish(form=form)
    return _one(form.pk)


@router.get(
    "/{form_id}/submissions",
    response={200: SubmissionPage, **error_responses(*_GET_ERRORS)},
    auth=ApiKeyAuth(ApiScope.FORMS_READ, "capture.view_form"),
    operation_id="form_submissions",
    summary="A form's submissions, newest first",
    description="Paged with `page` and `page_size`. Needs the `forms:read` scope.",
    openapi_extra=responses_extra(_GET_ERRORS),
)
def form_submissions(
    request: HttpRequest, form_id: FormId, params: Query[PageParams]
) -> dict[str, Any]:
    form = selectors.form_get(user=None, id=form_id)
    user = api_user(request)
    qs = (
        selectors.submission_list(user=user, form=form)
        .filter(contact_visible_q(user, "contact"))
        .select_related("purpose_text")
    )
    page = paged(qs, page=params.page, page_size=params.page_size)
    if page["items"]:
        data_access_log(
            kind=AccessKind.BULK_VIEW,
            resource="capture.submissions",
            fields=list(SubmissionOut.model_fields),
            rows=len(page["items"]),
            user=user,
            api_key=api_key(request),
            filters={"form": form.pk, "page": params.page, "page_size": params.page_size},
        )
    return page
