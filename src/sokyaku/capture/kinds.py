"""Form kinds: what a form is for, and what happens after each of its submissions.

Every form has a ``kind``, a key of this registry. The submission pipeline
(``services.submission.submission_process``) writes the contact, the ``form_submitted`` event,
the consent records and the touch, then, in the same transaction:

1. records the kind's extra event, if it names one (``inquiry`` → an ``inquiry`` event, so
   scoring can give an inquiry its +30), with the form's ``kind_options`` as its properties
   (an ``asset_downloaded`` event needs ``asset``: a download kind's options carry it);
2. calls the kind's ``after_submit`` handler with an ``AfterSubmit``. Whatever mapping the
   handler returns is kept in ``Submission.outcome`` and shapes the thank-you: ``message``
   (text shown instead of the form's own), ``links`` (``[{"label", "url"}]``, e.g. a download)
   and ``redirect_url``. A handler that raises rolls the whole submission back; side effects
   that must not run twice (mail) belong in ``transaction.on_commit``.

``options_clean`` validates a kind's own settings (``Form.kind_options``, e.g. which asset or
webinar), raising ``core.errors.ValidationError``. A kind whose forms must point at one thing
names it with a ``KindOption`` (the key in ``kind_options``, a label and the choices): the
form builder shows that picker for the kind, so every kind can be set up from *New form*.

Other apps register their kinds from ``AppConfig.ready``::

    form_kind_register(FormKind(
        key="webinar_registration", label=_("Webinar registration"),
        after_submit=registration_after_submit, options_clean=registration_options_clean,
    ))
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from sokyaku.activity.models import EventType

if TYPE_CHECKING:
    from sokyaku.capture.models import Form, Submission
    from sokyaku.contacts.models import Contact


@dataclass(frozen=True)
class AfterSubmit:
    """What an after-submit handler gets: the stored submission and its contact."""

    form: Form
    submission: Submission
    contact: Contact
    contact_created: bool
    values: Mapping[str, Any]  # the validated answers, by input name
    occurred_at: datetime
    visitor_id: str


AfterSubmitHandler = Callable[[AfterSubmit], Mapping[str, Any] | None]
OptionsClean = Callable[[Mapping[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class KindOption:
    """The one thing a kind's forms point at (an asset, a webinar), picked in the form builder.

    ``choices`` lists ``(id, label)`` pairs of what can be picked now; ``empty_text`` and
    ``create_url_name`` tell a marketer with nothing to pick where to make one."""

    key: str  # the key in ``Form.kind_options``
    label: str | Promise
    choices: Callable[[], list[tuple[int, str]]]
    empty_text: str | Promise = ""
    create_url_name: str = ""


@dataclass(frozen=True)
class FormKind:
    key: str
    label: str | Promise
    description: str | Promise = ""
    event_type: str = ""
    after_submit: AfterSubmitHandler | None = None
    options_clean: OptionsClean | None = None
    option: KindOption | None = None


_REGISTRY: dict[str, FormKind] = {}


def form_kind_register(kind: FormKind) -> None:
    """Add (or replace, by key) a form kind."""
    _REGISTRY[kind.key] = kind


def form_kind_get(key: str) -> FormKind | None:
    return _REGISTRY.get(key)


def form_kinds() -> list[FormKind]:
    """Every registered kind, in registration order (the standard form first)."""
    return list(_REGISTRY.values())


STANDARD = "standard"

form_kind_register(
    FormKind(
        key=STANDARD,
        label=_("Standard form"),
        description=_("Sign-ups, newsletters, surveys: a contact and a form submission."),
    )
)
form_kind_register(
    FormKind(
        key="inquiry",
        label=_("Inquiry"),
        description=_("Also records an inquiry on the contact's timeline."),
        event_type=EventType.INQUIRY,
    )
)
form_kind_register(
    FormKind(
        key="demo_request",
        label=_("Demo request"),
        description=_("Also records a demo request on the contact's timeline."),
        event_type=EventType.DEMO_REQUESTED,
    )
)
form_kind_register(
    FormKind(
        key="quote_request",
        label=_("Quote request"),
        description=_("Also records a quote request on the contact's timeline."),
        event_type=EventType.QUOTE_REQUESTED,
    )
)
