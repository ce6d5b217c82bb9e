"""Consent settings: the topics people can agree to and the purpose-of-use texts shown to them.

Reading needs ``consent.view_consenttopic``; changes need ``consent.change_consenttopic``
(marketers and admins). A purpose-of-use text is never edited: saving a changed text makes a new
version, and every consent record keeps pointing at the version its person saw.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from sokyaku.consent import selectors, services
from sokyaku.consent.forms import PurposeTextForm, TopicForm
from sokyaku.consent.models import ConsentTopic
from sokyaku.core.errors import ValidationError

_VIEW = "consent.view_consenttopic"
_CHANGE = "consent.change_consenttopic"


@login_required
@permission_required(_VIEW, raise_exception=True)
def settings_page(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "consent/settings.html",
        {"topics": selectors.topic_list(), "texts": selectors.purpose_text_latest()},
    )


@require_http_methods(["GET", "POST"])
@login_required
@permission_required(_CHANGE, raise_exception=True)
def topic_edit(request: HttpRequest, topic_id: int | None = None) -> HttpResponse:
    topic = get_object_or_404(ConsentTopic, pk=topic_id) if topic_id else None
    initial = (
        {"key": topic.key, "name": topic.name, "description": topic.description,
         "is_active": topic.is_active}
        if topic
        else {"is_active": True}
    )  # fmt: skip
    form = TopicForm(request.POST or None, initial=initial)
    if topic:
        form.fields["key"].disabled = True
    if request.method == "POST" and form.is_valid():
        try:
            services.topic_save(
                key=topic.key if topic else form.cleaned_data["key"],
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                is_active=form.cleaned_data["is_active"],
                topic=topic,
            )
        except ValidationError as exc:
            for field in exc.field_errors:
                form.add_error(field if field in form.fields else None, _("This key is taken."))
        else:
            messages.success(request, _("The topic was saved."))
            return redirect("consent:settings")
    return render(request, "consent/topic_form.html", {"form": form, "topic": topic})


@require_http_methods(["GET", "POST"])
@login_required
@permission_required(_CHANGE, raise_exception=True)
def purpose_text_edit(request: HttpRequest, key: str | None = None) -> HttpResponse:
    versions = list(selectors.purpose_text_versions(key=key)) if key else []
    if key and not versions:
        raise Http404
    latest = versions[0] if versions else None
    initial = {"key": key, "title": latest.title, "body": latest.body} if latest else {}
    form = PurposeTextForm(request.POST or None, initial=initial)
    if latest:
        form.fields["key"].disabled = True
    if request.method == "POST" and form.is_valid():
        text = services.purpose_text_publish(
            key=key or form.cleaned_data["key"],
            title=form.cleaned_data["title"],
            body=form.cleaned_data["body"],
        )
        if latest and text.pk == latest.pk:
            messages.info(request, _("Nothing changed; the text stays at its current version."))
        else:
            messages.success(
                request, _("Saved as version %(version)d.") % {"version": text.version}
            )
        return redirect("consent:text", key=text.key)
    return render(
        request, "consent/text_form.html", {"form": form, "versions": versions, "key": key}
    )
