"""Contact page actions on pending changes: accept (apply the proposed values) or reject.

Both need ``contacts.change_contact``, like editing the contact; the services do the work
(``contacts.pending``).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from sokyaku.contacts import pending, selectors
from sokyaku.contacts.forms import error_message
from sokyaku.core.errors import SokyakuError
from sokyaku.core.http import HtmxHttpRequest, actor, domain_errors

_CHANGE = "contacts.change_contact"


@require_POST
@login_required
@permission_required(_CHANGE, raise_exception=True)
@domain_errors
def pending_change_accept(
    request: HtmxHttpRequest, contact_id: int, change_id: int
) -> HttpResponse:
    contact = selectors.contact_get(user=request.user, id=contact_id)
    change = pending.pending_change_get(contact=contact, id=change_id)
    try:
        pending.pending_change_accept(change=change, actor=actor(request))
    except SokyakuError as exc:
        messages.error(request, _translated(exc.message))
    else:
        messages.success(request, _("The proposed values were applied."))
    return redirect("contacts:detail", contact_id=contact.pk)


@require_POST
@login_required
@permission_required(_CHANGE, raise_exception=True)
@domain_errors
def pending_change_reject(
    request: HtmxHttpRequest, contact_id: int, change_id: int
) -> HttpResponse:
    contact = selectors.contact_get(user=request.user, id=contact_id)
    change = pending.pending_change_get(contact=contact, id=change_id)
    try:
        pending.pending_change_reject(change=change, actor=actor(request))
    except SokyakuError as exc:
        messages.error(request, _translated(exc.message))
    else:
        messages.success(request, _("The proposed values were rejected; the contact is unchanged."))
    return redirect("contacts:detail", contact_id=contact.pk)


def _translated(message: str) -> str:
    if message == "This change was already decided.":
        return _("This change was already decided.")
    return error_message(message)
