"""Sequences UI: the list, creating a sequence and editing its settings, a sequence's flow with
per-step (and per A/B variant) metrics, settings, step editing, a mail step's A/B variants,
pause/resume, enrolments and the calendar preview; enrol/remove from the contact page.

Marketers (``add_sequence`` + ``change_sequence``) create and edit; sales reps (``view`` +
``add_enrollment``) see sequences and enrol or remove the contacts they may see (their own, or
their team's) by hand. A rep's list of a sequence's enrolments shows those contacts only."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from sokyaku.capture import gated_selectors
from sokyaku.capture import selectors as capture_selectors
from sokyaku.consent import selectors as consent_selectors
from sokyaku.contacts import selectors as contact_selectors
from sokyaku.core.calendar import TOKYO
from sokyaku.core.errors import Conflict, ValidationError
from sokyaku.core.http import actor, domain_errors
from sokyaku.messaging import selectors as messaging_selectors
from sokyaku.messaging.models import Stream, Template
from sokyaku.segments import selectors as segment_selectors
from sokyaku.sequences import describe, selectors
from sokyaku.sequences.forms import (
    SequenceSettingsForm,
    SettingsChoices,
    StepChoices,
    StepForm,
    StepVariantsForm,
)
from sokyaku.sequences.models import Enrollment, Sequence, Step, StepKind
from sokyaku.sequences.schedule import window_of
from sokyaku.sequences.services import editing
from sokyaku.sequences.services import enrollment as enrollment_services

_VIEW = "sequences.view_sequence"
_ADD = "sequences.add_sequence"
_CHANGE = "sequences.change_sequence"
_ENROL = "sequences.add_enrollment"


@login_required
@permission_required(_VIEW, raise_exception=True)
def sequence_list(request: HttpRequest) -> HttpResponse:
    rows = selectors.sequence_list(user=request.user)
    names = describe.flow_names(sequences=rows)
    for row in rows:
        row.trigger_words = describe.trigger_words(row, names)  # type: ignore[attr-defined]
    return render(request, "sequences/list.html", {"sequences": rows})


# The settings page lays these fields out itself; any other field of the form is shown in a
# fieldset of its own, so a setting added to the form appears without a template change.
_LAID_OUT = {
    "name",
    "description",
    "trigger_kind",
    "reentry",
    "reentry_days",
    "exit_on",
    "window_days",
    "window_start",
    "window_end",
    "skip_holidays",
    "closures",
    "sender",
    "topic_key",
    "priority",
    "exclusions",
}


def _settings_page(
    request: HttpRequest, form: SequenceSettingsForm, sequence: Sequence | None
) -> HttpResponse:
    laid_out = _LAID_OUT | {field.name for _kinds, field in form.trigger_fields()}
    return render(
        request,
        "sequences/settings.html",
        {
            "form": form,
            "sequence": sequence,
            "more_fields": [form[name] for name in form.fields if name not in laid_out],
        },
    )


def _settings_choices(request: HttpRequest) -> SettingsChoices:
    """What the settings form's pickers offer, one query each."""
    user = request.user
    senders = list(
        messaging_selectors.sender_profile_list(user=user, stream=Stream.MARKETING).values_list(
            "id", "name", "is_default"
        )
    )
    return SettingsChoices(
        forms=[(f.pk, f.name) for f in capture_selectors.form_choices(user=user)],
        assets=list(gated_selectors.asset_list(user=user).values_list("id", "title")),
        segments=list(
            segment_selectors.segment_list(user=user).order_by("name").values_list("id", "name")
        ),
        senders=[(pk, name) for pk, name, _default in senders],
        topics=[
            (t.key, t.name)
            for t in consent_selectors.topic_list().filter(is_active=True).only("key", "name")
        ],
        default_sender=next((pk for pk, _name, default in senders if default), None),
        sequences=list(selectors.sequence_choices()),
    )


@require_http_methods(["GET", "POST"])
@login_required
@permission_required((_ADD, _CHANGE), raise_exception=True)
@domain_errors
def sequence_create(request: HttpRequest) -> HttpResponse:
    form = SequenceSettingsForm(
        request.POST if request.method == "POST" else None, choices=_settings_choices(request)
    )
    if request.method == "POST" and form.is_valid():
        try:
            sequence = editing.sequence_create(data=form.to_input(), actor=actor(request))
        except ValidationError as exc:
            form.add_service_errors(exc)
        except Conflict:
            form.add_error("name", _("A sequence with this name exists already."))
        else:
            messages.success(request, _("Sequence created. Add its steps, then activate it."))
            return redirect("sequences:detail", sequence.pk)
    return _settings_page(request, form, None)


@require_http_methods(["GET", "POST"])
@login_required
@permission_required(_CHANGE, raise_exception=True)
@domain_errors
def sequence_settings(request: HttpRequest, sequence_id: int) -> HttpResponse:
    sequence = selectors.sequence_get(user=request.user, id=sequence_id)
    form = SequenceSettingsForm(
        request.POST if request.method == "POST" else None,
        choices=_settings_choices(request),
        sequence=sequence,
    )
    if request.method == "POST" and form.is_valid():
        try:
            editing.sequence_update(sequence=sequence, data=form.to_input())
        except ValidationError as exc:
            form.add_service_errors(exc)
        except Conflict:
            form.add_error("name", _("A sequence with this name exists already."))
        else:
            messages.success(request, _("Settings saved."))
            return redirect("sequences:detail", sequence.pk)
    return _settings_page(request, form, sequence)


def _preview(request: HttpRequest, sequence: Sequence) -> dict[str, Any]:
    raw_contact = request.GET.get("contact", "")
    raw_start = request.GET.get("start", "")
    context: dict[str, Any] = {"preview_contact": raw_contact, "preview_start": raw_start}
    if not raw_contact.isdigit():
        return context
    contact = contact_selectors.contact_get(user=request.user, id=int(raw_contact))
    start = None
    if raw_start:
        parsed = parse_datetime(raw_start)
        if parsed is None:
            context["preview_error"] = _("Enter the start as a date and time.")
            return context
        start = parsed if parsed.tzinfo else parsed.replace(tzinfo=TOKYO)
    context["preview_for"] = contact
    context["preview"] = selectors.sequence_preview(sequence=sequence, contact=contact, start=start)
    return context


@dataclass
class FlowItem:
    """One step as the flow draws it: what it does in words, its numbers, a branch's yes/no
    paths, the branches leading to it, its A/B variants and (for editors) its edit form."""

    step: Step
    metrics: selectors.StepMetrics
    words: str
    paths: list[describe.BranchPath] = field(default_factory=list)
    incoming: list[tuple[int, str]] = field(default_factory=list)
    variants: list[tuple[Any, Any]] = field(default_factory=list)
    form: StepForm | None = None


@dataclass
class Pending:
    """A step form the page shows open: an insert at ``position`` or an edit of ``step_id``."""

    form: StepForm
    position: int | None = None
    step_id: int | None = None


def _pickers(request: HttpRequest) -> StepChoices:
    """What every step form offers (templates, chat channels, segments): three queries."""
    user = request.user
    return StepChoices(
        templates=list(messaging_selectors.template_list(user=user).values_list("id", "name")),
        channels=list(
            messaging_selectors.chat_channel_list(user=user)
            .filter(is_active=True)
            .values_list("id", "name")
        ),
        segments=list(
            segment_selectors.segment_list(user=user).order_by("name").values_list("id", "name")
        ),
    )


def _targets(
    pickers: StepChoices, steps: list[Step], names: describe.Names, *, after: int
) -> StepChoices:
    """``pickers`` with the steps a branch at ``after`` may lead to (those below it)."""
    return replace(
        pickers,
        targets=[(s.pk, describe.step_title(s, names)) for s in steps if s.position > after],
    )


def _insert_position(raw: str, count: int) -> int:
    return min(max(int(raw), 1), count + 1) if raw.isdigit() else count + 1


def _detail(
    request: HttpRequest,
    sequence: Sequence,
    *,
    pending: Pending | None = None,
    flow_error: str = "",
    status: int = 200,
) -> HttpResponse:
    steps = selectors.step_list(sequence=sequence)
    names = describe.flow_names(sequences=[sequence], steps=steps)
    metrics = selectors.step_metrics(sequence=sequence, steps=steps)
    variants = selectors.variant_metrics(sequence=sequence, steps=steps)
    may_edit = request.user.has_perm(_CHANGE)
    pickers = _pickers(request) if may_edit else StepChoices()
    target_of = {s.position: s.pk for s in steps}
    incoming: dict[int, list[tuple[int, str]]] = {}
    items = []
    for step in steps:
        paths = describe.branch_paths(step, steps, names) if step.kind == StepKind.BRANCH else []
        for path in paths:
            explicit = (step.config or {}).get(path.answer) not in (None, "")
            if path.position is not None and explicit:
                incoming.setdefault(path.position, []).append((step.position, path.label))
        form = None
        if may_edit:
            if pending and pending.step_id == step.pk:
                form = pending.form
            else:
                form = StepForm(
                    kind=step.kind,
                    choices=_targets(pickers, steps, names, after=step.position),
                    step=step,
                    target_of=target_of,
                    auto_id=f"step{step.pk}_%s",
                )
        items.append(
            FlowItem(
                step=step,
                metrics=metrics[step.pk],
                words=describe.step_words(step, names),
                paths=paths,
                variants=[
                    (v, names.templates.get(v.template_id) if v.template_id else None)
                    for v in variants.get(step.pk, ())
                ],
                form=form,
            )
        )
    for item in items:
        item.incoming = incoming.get(item.step.position, [])
    insert_at: int | None = None
    insert_form = None
    raw_kind = request.GET.get("kind", "")
    if pending and pending.position is not None:
        insert_at, insert_form = pending.position, pending.form
    elif may_edit and raw_kind in StepKind.values:
        insert_at = _insert_position(request.GET.get("insert", ""), len(steps))
        insert_form = StepForm(
            kind=raw_kind,
            choices=_targets(pickers, steps, names, after=insert_at - 1),
            initial={"unit": "business_days", "amount": 3, "condition": "opened"},
            auto_id="new_%s",
        )
    status_filter = request.GET.get("status", "")
    enrollments = list(
        selectors.enrollment_list(sequence=sequence, status=status_filter or None).filter(
            contact_selectors.contact_visible_q(request.user, "contact")
        )[:100]
    )
    for enrollment in enrollments:
        enrollment.exit_reason_words = describe.exit_reason_words(enrollment.exit_reason)  # type: ignore[attr-defined]
    context = {
        "sequence": sequence,
        "flow": items,
        "slots": range(1, len(steps) + 2),
        "insert_at": insert_at,
        "insert_form": insert_form,
        "insert_kind_label": dict(StepKind.choices).get(insert_form.kind) if insert_form else "",
        "flow_error": flow_error,
        "kinds": StepKind.choices,
        "trigger_words": describe.trigger_words(sequence, names),
        "window_words": describe.window_words(window_of(sequence)),
        "closures_words": describe.closures_words(window_of(sequence).closures),
        "window": window_of(sequence),
        "exits_words": describe.exits_words(sequence.exit_on or ()),
        "topic_name": names.topics.get(sequence.topic_key, sequence.topic_key),
        "enrollments": enrollments,
        "status_filter": status_filter,
        **_preview(request, sequence),
    }
    return render(request, "sequences/detail.html", context, status=status)


def _invalid(request: HttpRequest) -> int:
    """A form with errors: 422, except for htmx, which swaps only successful answers."""
    return 200 if getattr(request, "htmx", False) else 422


@login_required
@permission_required(_VIEW, raise_exception=True)
@domain_errors
def sequence_detail(request: HttpRequest, sequence_id: int) -> HttpResponse:
    sequence = selectors.sequence_get(user=request.user, id=sequence_id)
    return _detail(request, sequence)


def _after_change(sequence: Sequence) -> HttpResponse:
    return redirect("sequences:detail", sequence.pk)


@require_POST
@login_required
@permission_required(_CHANGE, raise_exception=True)
@domain_errors
def step_add(request: HttpRequest, sequence_id: int) -> HttpResponse:
    """Insert a step of the posted kind at the posted position (default: at the end)."""
    sequence = selectors.sequence_get(user=request.user, id=sequence_id)
    steps = selectors.step_list(sequence=sequence)
    names = describe.flow_names(sequences=[sequence], steps=steps)
    kind = request.POST.get("kind", "")
    if kind not in StepKind.values:
        return _detail(
            request, sequence, flow_error=_("Choose a step kind."), status=_invalid(request)
        )
    at = _insert_position(request.POST.get("position", ""), len(steps))
    form = StepForm(
        request.POST,
        kind=kind,
        choices=_targets(_pickers(request), steps, names, after=at - 1),
        auto_id="new_%s",
    )
    if form.is_valid():
        # Positions once the step is in: the steps from ``at`` on move down by one.
        positions = {s.pk: s.position + (1 if s.position >= at else 0) for s in steps}
        try:
            editing.step_add(
                sequence=sequence,
                data=form.to_input(positions=positions, end=len(steps) + 2),
                position=at,
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            return _after_change(sequence)
    return _detail(
        request, sequence, pending=Pending(form=form, position=at), status=_invalid(request)
    )


@require_POST
@login_required
@permission_required(_CHANGE, raise_exception=True)
@domain_errors
def step_edit(request: HttpRequest, sequence_id: int, step_id: int) -> HttpResponse:
    """Change a step's settings in place (its kind stays)."""
    sequence = selectors.sequence_get(user=request.user, id=sequence_id)
    step = selectors.step_get(sequence=sequence, id=step_id)
    steps = selectors.step_list(sequence=sequence)
    names = describe.flow_names(sequences=[sequence], steps=steps)
    form = StepForm(
        request.POST,
        kind=step.kind,
        choices=_targets(_pickers(request), steps, names, after=step.position),
        step=step,
        auto_id=f"step{step.pk}_%s",
    )
    if form.is_valid():
        data = form.to_input(positions={s.pk: s.position for s in steps}, end=len(steps) + 1)
        if step.kind == StepKind.EMAIL and step.config.get("variants"):
            data.config["variants"] = step.config["variants"]
        try:
            editing.step_update(step=step, data=data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            return _after_change(sequence)
    return _detail(
        request, sequence, pending=Pending(form=form, step_id=step.pk), status=_invalid(request)
    )


@require_POST
@login_required
@permission_required(_CHANGE, raise_exception=True)
@domain_errors
def step_move(request: HttpRequest, sequence_id: int, step_id: int) -> HttpResponse:
    """Move a step to the posted position (dragging it in the flow)."""
    sequence = selectors.sequence_get(user=request.user, id=sequence_id)
    step = selectors.step_get(sequence=sequence, id=step_id)
    raw = request.POST.get("position", "")
    if not raw.isdigit():
        return _detail(
            request, sequence, flow_error=_("Choose where to move the step."), status=400
        )
    try:
        editing.step_move_to(step=step, position=int(raw))
    except ValidationError as exc:
        return _detail(request, sequence, flow_error=_(exc.message), status=_invalid(request))
    return _after_change(sequence)


@require_http_methods(["GET", "POST"])
@login_required
@permission_required(_CHANGE, raise_exception=True)
@domain_errors
def step_variants(request: HttpRequest, sequence_id: int, step_id: int) -> HttpResponse:
    """A mail step's A/B test: switch variants B and C on or off, choose their template or
    subject line and their share. "Stop the test" removes every variant."""
    sequence = selectors.sequence_get(user=request.user, id=sequence_id)
    step = selectors.step_get(sequence=sequence, id=step_id)
    if step.kind != StepKind.EMAIL:
        raise Http404("Only mail steps have variants.")
    base = Template.objects.filter(pk=step.config.get("template")).only("id", "name", "subject")
    base_template = base.first()
    form = StepVariantsForm(
        request.POST if request.method == "POST" else None,
        step=step,
        templates=list(
            messaging_selectors.template_list(user=request.user).values_list("id", "name")
        ),
        base_template=base_template.name if base_template else "",
    )
    if request.method == "POST" and ("stop" in request.POST or form.is_valid()):
        variants = [] if "stop" in request.POST else form.to_variants()
        try:
            editing.step_variants_set(step=step, variants=variants)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(
                request,
                _("A/B test saved.")
                if variants
                else _("A/B test stopped: the step sends its own mail only."),
            )
            return redirect("sequences:detail", sequence.pk)
    return render(
        request,
        "sequences/variants.html",
        {"sequence": sequence, "step": step, "form": form, "base_template": base_template},
    )


@require_POST
@login_required
@permission_required(_CHANGE, raise_exception=True)
@domain_errors
def step_change(request: HttpRequest, sequence_id: int, step_id: int, action: str) -> HttpResponse:
    """Remove a step, or move it one place up or down (the buttons beside each step)."""
    sequence = selectors.sequence_get(user=request.user, id=sequence_id)
    step = selectors.step_get(sequence=sequence, id=step_id)
    try:
        if action == "remove":
            editing.step_remove(step=step)
        elif action in ("up", "down"):
            editing.step_move(step=step, direction=-1 if action == "up" else 1)
        else:
            raise Http404("No such step action.")
    except ValidationError as exc:
        return _detail(request, sequence, flow_error=_(exc.message), status=_invalid(request))
    return _after_change(sequence)


@require_POST
@login_required
@permission_required(_CHANGE, raise_exception=True)
@domain_errors
def sequence_status(request: HttpRequest, sequence_id: int, action: str) -> HttpResponse:
    sequence = selectors.sequence_get(user=request.user, id=sequence_id)
    actions = {
        "activate": editing.sequence_activate,
        "pause": editing.sequence_pause,
        "resume": editing.sequence_resume,
        "archive": editing.sequence_archive,
    }
    try:
        actions[action](sequence=sequence)
    except (ValidationError, Conflict, KeyError) as exc:
        messages.error(request, getattr(exc, "message", str(exc)))
    return redirect("sequences:detail", sequence.pk)


@require_POST
@login_required
@permission_required(_ENROL, raise_exception=True)
@domain_errors
def contact_enroll(request: HttpRequest, contact_id: int) -> HttpResponse:
    contact = contact_selectors.contact_get(user=request.user, id=contact_id)
    raw = request.POST.get("sequence", "")
    if raw.isdigit():
        sequence = selectors.sequence_get(user=request.user, id=int(raw))
        try:
            enrollment_services.sequence_enroll(
                sequence=sequence, contact=contact, actor=actor(request)
            )
            messages.success(request, _("Enrolled in %(name)s.") % {"name": sequence.name})
        except (ValidationError, Conflict) as exc:
            messages.error(request, exc.message)
    return redirect("contacts:detail", contact.pk)


@require_POST
@login_required
@permission_required(_ENROL, raise_exception=True)
@domain_errors
def enrollment_remove(request: HttpRequest, enrollment_id: int) -> HttpResponse:
    enrollment = Enrollment.objects.select_related("contact").filter(pk=enrollment_id).first()
    if enrollment is None:
        raise Http404
    # Another rep's contact is a 404, as on every contact page.
    contact_selectors.contact_get(user=request.user, id=enrollment.contact_id)
    enrollment_services.enrollment_exit(
        enrollment=enrollment, reason=enrollment_services.MANUAL, actor=actor(request)
    )
    return redirect("contacts:detail", enrollment.contact_id)
