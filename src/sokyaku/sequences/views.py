"""Sequences UI: the list, creating a sequence and editing its settings, a sequence's flow with
per-step (and per A/B variant) metrics, settings, step editing, a mail step's A/B variants,
pause/resume, enrolments and the calendar preview; enrol/remove from the contact page.

Marketers (``add_sequence`` + ``change_sequence``) create and edit; sales reps (``view`` +
``add_enrollment``) see sequences and enrol or remove the contacts they may see (their own, or
their team's) by hand. A rep's list of a sequence's enrolments shows those contacts only."""

from __future__ import annotations

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
from sokyaku.core.errors import Conflict, ValidationError
from sokyaku.core.http import actor, domain_errors
from sokyaku.messaging import selectors as messaging_selectors
from sokyaku.messaging.models import ChatChannel, Stream, Template
from sokyaku.segments import selectors as segment_selectors
from sokyaku.sequences import selectors
from sokyaku.sequences.calendar import TOKYO
from sokyaku.sequences.forms import SequenceSettingsForm, SettingsChoices, StepVariantsForm
from sokyaku.sequences.models import Enrollment, Sequence, StepKind
from sokyaku.sequences.schedule import WAIT_UNITS, window_of
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
    return render(request, "sequences/list.html", {"sequences": rows})


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
            (t.key, f"{t.name} ({t.key})")
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
    return render(request, "sequences/settings.html", {"form": form, "sequence": None})


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
    return render(request, "sequences/settings.html", {"form": form, "sequence": sequence})


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


@login_required
@permission_required(_VIEW, raise_exception=True)
@domain_errors
def sequence_detail(request: HttpRequest, sequence_id: int) -> HttpResponse:
    sequence = selectors.sequence_get(user=request.user, id=sequence_id)
    steps = selectors.step_list(sequence=sequence)
    metrics = selectors.step_metrics(sequence=sequence, steps=steps)
    variants = selectors.variant_metrics(sequence=sequence, steps=steps)
    template_ids = [s.config.get("template") for s in steps if s.config.get("template")]
    template_ids += [v.template_id for rows in variants.values() for v in rows if v.template_id]
    templates = {t.pk: t for t in Template.objects.filter(pk__in=template_ids)}
    status = request.GET.get("status", "")
    enrollments = selectors.enrollment_list(sequence=sequence, status=status or None).filter(
        contact_selectors.contact_visible_q(request.user, "contact")
    )[:100]
    context = {
        "sequence": sequence,
        "window": window_of(sequence),
        "flow": [
            (
                s,
                metrics[s.pk],
                templates.get(s.config.get("template")),
                [
                    (v, templates.get(v.template_id) if v.template_id else None)
                    for v in variants.get(s.pk, ())
                ],
            )
            for s in steps
        ],
        "enrollments": enrollments,
        "status_filter": status,
        "kinds": StepKind.choices,
        "units": WAIT_UNITS,
        "all_templates": Template.objects.order_by("name").only("id", "name"),
        "channels": ChatChannel.objects.filter(is_active=True).only("id", "name"),
        "step_errors": request.session.pop("sequence_step_errors", None),
        **_preview(request, sequence),
    }
    return render(request, "sequences/detail.html", context)


def _step_config(post: Any) -> tuple[str, str, dict[str, Any]]:
    kind = post.get("kind", "")
    config: dict[str, Any] = {}
    if kind == StepKind.EMAIL:
        config = {"template": post.get("template")}
    elif kind == StepKind.CHAT:
        config = {"channel": post.get("channel"), "text": post.get("text", "")}
    elif kind == StepKind.WAIT:
        config = {"amount": post.get("amount"), "unit": post.get("unit")}
    elif kind in (StepKind.BRANCH, StepKind.GOAL):
        condition: dict[str, Any] = {"kind": post.get("condition", "")}
        if condition["kind"] == "event":
            condition["event_type"] = post.get("event_type", "")
        elif condition["kind"] == "score_gte":
            condition["value"] = post.get("value")
        elif condition["kind"] == "stage":
            condition["stage"] = post.get("value", "")
        elif condition["kind"] == "segment":
            condition["segment"] = post.get("value")
        config = {"condition": condition}
        if kind == StepKind.BRANCH:
            config.update(yes=post.get("yes") or None, no=post.get("no") or None)
    elif kind == StepKind.UPDATE:
        config = {"tag": post.get("tag", "")}
    elif kind == StepKind.NOTIFY_OWNER:
        config = {"text": post.get("text", "")}
    return kind, post.get("name", ""), config


@require_POST
@login_required
@permission_required(_CHANGE, raise_exception=True)
@domain_errors
def step_add(request: HttpRequest, sequence_id: int) -> HttpResponse:
    sequence = selectors.sequence_get(user=request.user, id=sequence_id)
    kind, name, config = _step_config(request.POST)
    position = request.POST.get("position", "")
    try:
        editing.step_add(
            sequence=sequence,
            data=editing.StepInput(kind=kind, name=name, config=config),
            position=int(position) if position.isdigit() else None,
        )
    except ValidationError as exc:
        request.session["sequence_step_errors"] = {
            "message": exc.message,
            "fields": exc.field_errors,
        }
    return redirect("sequences:detail", sequence.pk)


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
    sequence = selectors.sequence_get(user=request.user, id=sequence_id)
    step = selectors.step_get(sequence=sequence, id=step_id)
    if action == "remove":
        editing.step_remove(step=step)
    elif action in ("up", "down"):
        editing.step_move(step=step, direction=-1 if action == "up" else 1)
    return redirect("sequences:detail", sequence.pk)


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
