"""Mail content UI: templates (edit, preview as a contact, test send), sender profiles,
broadcasts, chat channels and the sending pause (all marketing mail, or one sender profile),
under /messaging/; and the contact page's button that invalidates a person's mail links.

Thin views: parse, call the permission-checked selectors and the services, render. Every role
with ``view`` permissions may look (sales reps do); changes need the models' ``add`` /
``change`` / ``delete`` permissions (marketers and admins).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sokyaku.consent import selectors as consent_selectors
from sokyaku.contacts import selectors as contact_selectors
from sokyaku.contacts.models import Contact
from sokyaku.core.errors import Conflict, NotFound, ValidationError
from sokyaku.core.http import HtmxHttpRequest, actor, domain_errors
from sokyaku.messaging import rendering, selectors
from sokyaku.messaging.forms import (
    BroadcastForm,
    ChatChannelForm,
    FrequencyCapForm,
    ScheduleForm,
    SenderProfileForm,
    TemplateForm,
    TestSendForm,
)
from sokyaku.messaging.frequency import frequency_cap_get
from sokyaku.messaging.models import BroadcastStatus, Stream, Template
from sokyaku.messaging.services import broadcasts as broadcast_services
from sokyaku.messaging.services import content, links, pausing
from sokyaku.messaging.services.frequency import frequency_cap_update

PAGE_SIZE = 50
CONTACT_CHOICES = 10


def _page(request: HtmxHttpRequest, rows: Any) -> Any:
    return Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))


# --- Templates ------------------------------------------------------------------------------


@require_GET
@login_required
@domain_errors
def template_list(request: HtmxHttpRequest) -> HttpResponse:
    page = _page(request, selectors.template_list(user=request.user))
    return render(
        request, "messaging/content/template_list.html", {"page": page, "tab": "templates"}
    )


@require_http_methods(["GET", "POST"])
@login_required
@permission_required("messaging.add_template", raise_exception=True)
@domain_errors
def template_create(request: HtmxHttpRequest) -> HttpResponse:
    form = TemplateForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            template = content.template_create(data=form.to_input(), actor=actor(request))
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("Template saved."))
            return redirect("messaging:template_edit", template_id=template.pk)
    return render(
        request,
        "messaging/content/template_form.html",
        {"form": form, "template": None, "tab": "templates"},
    )


def _preview_contact(request: HtmxHttpRequest) -> Contact | None:
    raw = request.GET.get("contact") or ""
    if not raw.isdigit():
        return None
    try:
        return contact_selectors.contact_get(user=request.user, id=int(raw))
    except NotFound:
        return None


@require_http_methods(["GET", "POST"])
@login_required
@domain_errors
def template_edit(request: HtmxHttpRequest, template_id: int) -> HttpResponse:
    template = selectors.template_get(user=request.user, id=template_id)
    can_change = request.user.has_perm("messaging.change_template")
    if request.method == "POST":
        if not can_change:
            return HttpResponse(status=403)
        form = TemplateForm(request.POST)
        if form.is_valid():
            try:
                content.template_update(
                    template=template, data=form.to_input(), actor=actor(request)
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
                template.refresh_from_db()
            else:
                messages.success(request, _("Template saved."))
                return redirect("messaging:template_edit", template_id=template.pk)
    else:
        form = TemplateForm.for_template(template)
    contact = _preview_contact(request)
    context = {
        "form": form,
        "template": template,
        "can_change": can_change,
        "tab": "templates",
        "test_form": TestSendForm(initial={"to_address": getattr(request.user, "email", "")}),
        "preview_contact": contact,
        **_preview_context(template=template, contact=contact),
    }
    return render(request, "messaging/content/template_form.html", context)


def _preview_context(*, template: Template, contact: Contact | None) -> dict[str, Any]:
    sender = (
        selectors.sender_profile_list(user=None, stream=Stream.MARKETING)
        .filter(is_default=True)
        .first()
    )
    try:
        rendered = rendering.preview_render(
            template=template, contact=contact, sender=sender, context={}
        )
    except ValidationError as exc:  # an old template that no longer compiles
        return {"preview": None, "preview_error": exc.message}
    return {"preview": rendered, "preview_error": ""}


@require_GET
@login_required
@domain_errors
def template_preview(request: HtmxHttpRequest, template_id: int) -> HttpResponse:
    """The preview pane (htmx): the template rendered as the chosen contact."""
    template = selectors.template_get(user=request.user, id=template_id)
    contact = _preview_contact(request)
    context = {
        "template": template,
        "preview_contact": contact,
        **_preview_context(template=template, contact=contact),
    }
    return render(request, "messaging/content/_preview.html", context)


@require_GET
@login_required
@domain_errors
def preview_contacts(request: HtmxHttpRequest) -> HttpResponse:
    """Contacts matching the search box, as options for the preview's contact picker."""
    query = (request.GET.get("q") or "").strip()
    rows = (
        contact_selectors.contact_list(user=request.user, q=query)[:CONTACT_CHOICES]
        if query
        else []
    )
    return render(
        request, "messaging/content/_contact_options.html", {"contacts": rows, "q": query}
    )


@require_POST
@login_required
@permission_required("messaging.change_template", raise_exception=True)
@domain_errors
def template_test_send(request: HtmxHttpRequest, template_id: int) -> HttpResponse:
    template = selectors.template_get(user=request.user, id=template_id)
    form = TestSendForm(request.POST)
    contact = None
    if form.is_valid() and form.cleaned_data.get("contact"):
        contact = contact_selectors.contact_get(user=request.user, id=form.cleaned_data["contact"])
    if form.is_valid():
        try:
            content.template_test_send(
                template=template,
                contact=contact,
                to_address=form.cleaned_data["to_address"],
                actor=actor(request),
            )
        except ValidationError as exc:
            messages.error(request, _(exc.message))
        else:
            messages.success(
                request,
                _("Test mail queued to %(address)s.")
                % {"address": form.cleaned_data["to_address"]},
            )
    else:
        messages.error(request, _("Enter a valid email address for the test."))
    target = reverse("messaging:template_edit", kwargs={"template_id": template.pk})
    if contact is not None:
        target += f"?contact={contact.pk}"
    return redirect(target)


@require_POST
@login_required
@permission_required("messaging.delete_template", raise_exception=True)
@domain_errors
def template_delete(request: HtmxHttpRequest, template_id: int) -> HttpResponse:
    template = selectors.template_get(user=request.user, id=template_id)
    try:
        content.template_delete(template=template, actor=actor(request))
    except Conflict as exc:
        messages.error(request, _(exc.message))
        return redirect("messaging:template_edit", template_id=template.pk)
    messages.success(request, _("Template deleted."))
    return redirect("messaging:home")


# --- Sender profiles ------------------------------------------------------------------------


@require_GET
@login_required
@domain_errors
def sender_list(request: HtmxHttpRequest) -> HttpResponse:
    rows = [
        {"profile": p, "missing": rendering.sender_profile_check(p)}
        for p in selectors.sender_profile_list(user=request.user)
    ]
    return render(request, "messaging/content/sender_list.html", {"rows": rows, "tab": "senders"})


@require_http_methods(["GET", "POST"])
@login_required
@permission_required("messaging.add_senderprofile", raise_exception=True)
@domain_errors
def sender_create(request: HtmxHttpRequest) -> HttpResponse:
    form = SenderProfileForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            profile = content.sender_profile_create(data=form.to_input(), actor=actor(request))
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("Sender profile saved."))
            return redirect("messaging:sender_edit", profile_id=profile.pk)
    return render(
        request,
        "messaging/content/sender_form.html",
        {"form": form, "profile": None, "missing": [], "tab": "senders", "can_change": True},
    )


@require_http_methods(["GET", "POST"])
@login_required
@domain_errors
def sender_edit(request: HtmxHttpRequest, profile_id: int) -> HttpResponse:
    profile = selectors.sender_profile_get(user=request.user, id=profile_id)
    can_change = request.user.has_perm("messaging.change_senderprofile")
    if request.method == "POST":
        if not can_change:
            return HttpResponse(status=403)
        form = SenderProfileForm(request.POST, profile=profile)
        if form.is_valid():
            try:
                content.sender_profile_update(
                    profile=profile, data=form.to_input(), actor=actor(request)
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
                profile.refresh_from_db()
            else:
                messages.success(request, _("Sender profile saved."))
                return redirect("messaging:sender_edit", profile_id=profile.pk)
    else:
        form = SenderProfileForm(profile=profile)
    context = {
        "form": form,
        "profile": profile,
        "missing": rendering.sender_profile_check(profile),
        "tab": "senders",
        "can_change": can_change,
    }
    return render(request, "messaging/content/sender_form.html", context)


# --- Chat channels --------------------------------------------------------------------------


@require_GET
@login_required
@domain_errors
def chat_list(request: HtmxHttpRequest) -> HttpResponse:
    rows = selectors.chat_channel_list(user=request.user)
    return render(request, "messaging/content/chat_list.html", {"rows": rows, "tab": "chat"})


@require_http_methods(["GET", "POST"])
@login_required
@permission_required("messaging.add_chatchannel", raise_exception=True)
@domain_errors
def chat_create(request: HtmxHttpRequest) -> HttpResponse:
    form = ChatChannelForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            content.chat_channel_create(data=form.to_input(), actor=actor(request))
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("Chat channel saved."))
            return redirect("messaging:chat_list")
    return render(
        request,
        "messaging/content/chat_form.html",
        {"form": form, "channel": None, "tab": "chat", "can_change": True},
    )


@require_http_methods(["GET", "POST"])
@login_required
@domain_errors
def chat_edit(request: HtmxHttpRequest, channel_id: int) -> HttpResponse:
    channel = selectors.chat_channel_get(user=request.user, id=channel_id)
    can_change = request.user.has_perm("messaging.change_chatchannel")
    if request.method == "POST":
        if not can_change:
            return HttpResponse(status=403)
        form = ChatChannelForm(request.POST)
        if form.is_valid():
            try:
                content.chat_channel_update(
                    channel=channel, data=form.to_input(), actor=actor(request)
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
                channel.refresh_from_db()
            else:
                messages.success(request, _("Chat channel saved."))
                return redirect("messaging:chat_list")
    else:
        form = ChatChannelForm(
            initial={
                "name": channel.name,
                "kind": channel.kind,
                "url": channel.url,
                "team_to": channel.team_to,
                "is_active": channel.is_active,
            }
        )
    return render(
        request,
        "messaging/content/chat_form.html",
        {"form": form, "channel": channel, "tab": "chat", "can_change": can_change},
    )


# --- Broadcasts -----------------------------------------------------------------------------


@require_GET
@login_required
@domain_errors
def broadcast_list(request: HtmxHttpRequest) -> HttpResponse:
    page = _page(request, selectors.broadcast_list(user=request.user))
    return render(
        request, "messaging/content/broadcast_list.html", {"page": page, "tab": "broadcasts"}
    )


@require_http_methods(["GET", "POST"])
@login_required
@permission_required("messaging.add_broadcast", raise_exception=True)
@domain_errors
def broadcast_create(request: HtmxHttpRequest) -> HttpResponse:
    form = BroadcastForm(request.POST if request.method == "POST" else None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            broadcast = broadcast_services.broadcast_create(
                name=data["name"],
                template=data["template"],
                sender=data["sender"],
                segment=data["segment"],
                topic_key=data["topic_key"],
                actor=actor(request),
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("Broadcast saved as a draft. Schedule it or send it now."))
            return redirect("messaging:broadcast_detail", broadcast_id=broadcast.pk)
    return render(
        request, "messaging/content/broadcast_form.html", {"form": form, "tab": "broadcasts"}
    )


@require_GET
@login_required
@domain_errors
def broadcast_detail(request: HtmxHttpRequest, broadcast_id: int) -> HttpResponse:
    broadcast = selectors.broadcast_get(user=request.user, id=broadcast_id)
    return render(request, "messaging/content/broadcast_detail.html", _broadcast_context(broadcast))


def _broadcast_context(broadcast: Any, schedule_form: ScheduleForm | None = None) -> dict[str, Any]:
    is_open = broadcast.status in (BroadcastStatus.DRAFT, BroadcastStatus.SCHEDULED)
    audience = broadcast_services.broadcast_audience(broadcast=broadcast) if is_open else None
    sample = _broadcast_sample(broadcast, audience)
    preview = _broadcast_preview(broadcast, sample)
    return {
        "broadcast": broadcast,
        "tab": "broadcasts",
        "is_open": is_open,
        "can_cancel": broadcast.status not in (BroadcastStatus.SENT, BroadcastStatus.CANCELLED),
        "audience": audience,
        "topic_name": consent_selectors.topic_list()
        .filter(key=broadcast.topic_key)
        .values_list("name", flat=True)
        .first()
        or broadcast.topic_key,
        "estimate": audience.count if audience is not None else None,
        "counts": selectors.broadcast_message_counts(broadcast=broadcast),
        "missing": rendering.sender_profile_check(broadcast.sender),
        "schedule_form": schedule_form
        or ScheduleForm(initial={"scheduled_at": broadcast.scheduled_at}),
        "preview_contact": sample,
        **preview,
    }


def _broadcast_sample(
    broadcast: Any, audience: broadcast_services.Audience | None
) -> Contact | None:
    """The recipient the preview and the test mail are rendered for: the first who will
    really receive it (or, once sent, the first who was sent it)."""
    if audience is not None:
        contact_id = audience.recipients[0][0] if audience.recipients else None
    else:
        contact_id = selectors.broadcast_first_recipient(broadcast=broadcast)
    if contact_id is None:
        return None
    return Contact.objects.select_related("company", "owner").filter(pk=contact_id).first()


def _broadcast_preview(broadcast: Any, contact: Contact | None) -> dict[str, Any]:
    try:
        rendered = rendering.preview_render(
            template=broadcast.template, contact=contact, sender=broadcast.sender, context={}
        )
    except ValidationError as exc:  # an old template that no longer compiles
        return {"preview": None, "preview_error": exc.message}
    return {"preview": rendered, "preview_error": ""}


@require_POST
@login_required
@permission_required("messaging.change_broadcast", raise_exception=True)
@domain_errors
def broadcast_test_send(request: HtmxHttpRequest, broadcast_id: int) -> HttpResponse:
    """Send the broadcast, rendered for its sample recipient, to the current user's address
    (a test mail through the outbox: subject marked [TEST], no consent check, not counted)."""
    broadcast = selectors.broadcast_get(user=request.user, id=broadcast_id)
    address = getattr(request.user, "email", "") or ""
    if not address:
        messages.error(request, _("Add an email address to your account to receive test mails."))
        return redirect("messaging:broadcast_detail", broadcast_id=broadcast.pk)
    audience = (
        broadcast_services.broadcast_audience(broadcast=broadcast)
        if broadcast.status in (BroadcastStatus.DRAFT, BroadcastStatus.SCHEDULED)
        else None
    )
    try:
        content.template_test_send(
            template=broadcast.template,
            contact=_broadcast_sample(broadcast, audience),
            to_address=address,
            sender=broadcast.sender,
            actor=actor(request),
        )
    except ValidationError as exc:
        messages.error(request, _(exc.message))
    else:
        messages.success(request, _("Test mail queued to %(address)s.") % {"address": address})
    return redirect("messaging:broadcast_detail", broadcast_id=broadcast.pk)


@require_POST
@login_required
@permission_required("messaging.change_broadcast", raise_exception=True)
@domain_errors
def broadcast_schedule(request: HtmxHttpRequest, broadcast_id: int) -> HttpResponse:
    broadcast = selectors.broadcast_get(user=request.user, id=broadcast_id)
    form = ScheduleForm(request.POST)
    send_now = "now" in request.POST
    if form.is_valid() and (send_now or form.at() is not None):
        try:
            broadcast_services.broadcast_schedule(
                broadcast=broadcast, at=None if send_now else form.at(), actor=actor(request)
            )
        except (ValidationError, Conflict) as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("Sending now.") if send_now else _("Broadcast scheduled."))
            return redirect("messaging:broadcast_detail", broadcast_id=broadcast.pk)
    elif form.is_valid():
        form.add_error("scheduled_at", _("Choose when to send, or send now."))
    context = _broadcast_context(broadcast, schedule_form=form)
    return render(request, "messaging/content/broadcast_detail.html", context, status=422)


@require_POST
@login_required
@permission_required("messaging.change_broadcast", raise_exception=True)
@domain_errors
def broadcast_cancel(request: HtmxHttpRequest, broadcast_id: int) -> HttpResponse:
    broadcast = selectors.broadcast_get(user=request.user, id=broadcast_id)
    try:
        broadcast_services.broadcast_cancel(broadcast=broadcast, actor=actor(request))
    except Conflict as exc:
        messages.error(request, _(exc.message))
    else:
        messages.success(request, _("Broadcast cancelled."))
    return redirect("messaging:broadcast_detail", broadcast_id=broadcast.pk)


# --- Frequency cap ---------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@login_required
@domain_errors
def frequency_cap_edit(request: HtmxHttpRequest) -> HttpResponse:
    """How many marketing mails one contact may get a day (sequences and broadcasts)."""
    cap = frequency_cap_get()
    can_change = request.user.has_perm("messaging.change_frequencycap")
    if request.method == "POST":
        if not can_change:
            return HttpResponse(status=403)
        form = FrequencyCapForm(request.POST)
        if form.is_valid():
            try:
                frequency_cap_update(**form.cleaned_data, actor=actor(request))
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, _("Frequency cap saved."))
                return redirect("messaging:frequency")
    else:
        form = FrequencyCapForm(
            initial={
                "per_day": cap.per_day,
                "sequences": cap.sequences,
                "broadcasts": cap.broadcasts,
            }
        )
    return render(
        request,
        "messaging/content/frequency.html",
        {"form": form, "tab": "frequency", "can_change": can_change},
    )


# --- Sending pause ---------------------------------------------------------------------------


@require_GET
@login_required
@domain_errors
def sending(request: HtmxHttpRequest) -> HttpResponse:
    """The kill switch: all marketing sending, and each sender profile, paused or sending."""
    context = {
        "tab": "sending",
        "switch": pausing.sending_pause_get(),
        "waiting": selectors.marketing_waiting_count(),
        "profiles": selectors.sender_profile_list(user=request.user),
        "can_switch": request.user.has_perm("messaging.change_sendingpause"),
        "can_change_profiles": request.user.has_perm("messaging.change_senderprofile"),
    }
    return render(request, "messaging/content/sending.html", context)


def _reason(request: HtmxHttpRequest) -> str:
    return request.POST.get("reason", "").strip()[:300]


@require_POST
@login_required
@permission_required("messaging.change_sendingpause", raise_exception=True)
@domain_errors
def sending_pause(request: HtmxHttpRequest) -> HttpResponse:
    pausing.marketing_sending_pause(actor=actor(request), reason=_reason(request))
    messages.warning(
        request,
        _("All marketing sending is paused. Queued mail waits; transactional mail still goes."),
    )
    return redirect("messaging:sending")


@require_POST
@login_required
@permission_required("messaging.change_sendingpause", raise_exception=True)
@domain_errors
def sending_resume(request: HtmxHttpRequest) -> HttpResponse:
    waiting = pausing.marketing_sending_resume(actor=actor(request))
    messages.success(
        request,
        _("Marketing sending resumed; %(count)s waiting messages go out now.") % {"count": waiting},
    )
    return redirect("messaging:sending")


@require_POST
@login_required
@permission_required("messaging.change_senderprofile", raise_exception=True)
@domain_errors
def sender_pause(request: HtmxHttpRequest, profile_id: int) -> HttpResponse:
    profile = selectors.sender_profile_get(user=request.user, id=profile_id)
    pausing.sender_profile_pause(profile=profile, actor=actor(request), reason=_reason(request))
    messages.warning(request, _("Sending from “%(name)s” is paused.") % {"name": profile.name})
    return redirect("messaging:sending")


@require_POST
@login_required
@permission_required("messaging.change_senderprofile", raise_exception=True)
@domain_errors
def sender_resume(request: HtmxHttpRequest, profile_id: int) -> HttpResponse:
    profile = selectors.sender_profile_get(user=request.user, id=profile_id)
    try:
        released = pausing.sender_profile_resume(profile=profile, actor=actor(request))
    except ValidationError:
        messages.info(request, _("“%(name)s” was not paused.") % {"name": profile.name})
    else:
        messages.success(
            request,
            _("Sending from “%(name)s” resumed; %(count)s waiting messages go out now.")
            % {"name": profile.name, "count": released},
        )
    return redirect("messaging:sending")


# --- A contact's mail links -----------------------------------------------------------------


@require_POST
@login_required
@permission_required("messaging.add_maillinkrotation", raise_exception=True)
@domain_errors
def contact_links_rotate(request: HtmxHttpRequest, contact_id: int) -> HttpResponse:
    """Invalidate the unsubscribe and preference-centre links of every mail sent to the contact
    (the contact page's button; admins)."""
    contact = contact_selectors.contact_get(user=request.user, id=contact_id)
    links.mail_links_rotate(contact=contact, actor=actor(request))
    messages.success(
        request,
        _(
            "The links in mails sent to this contact no longer open their mail settings. "
            "Mails sent from now on carry new links."
        ),
    )
    return redirect(reverse("contacts:detail", args=[contact.pk]) + "#mail-links")
