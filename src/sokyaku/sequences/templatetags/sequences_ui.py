"""``{% sequences_panel contact %}``: the contact page's sequences — each enrolment with its
status (and why it ended, in words), next step and next run time, a manual enrol form and
remove buttons (for users who may enrol: marketers, and sales reps for their own contacts).
``{{ reason|exit_reason_words }}``: an enrolment's exit reason in words.
``{% shared_trigger_warning %}`` (every pair) and ``{% shared_trigger_warning sequence %}`` (that
sequence's pairs): active sequences that start on the same trigger (``sequences.overlaps``)."""

from __future__ import annotations

from typing import Any

from django import template

from sokyaku.sequences import describe, selectors
from sokyaku.sequences.overlaps import overlaps_list

register = template.Library()


@register.filter
def exit_reason_words(reason: str) -> str:
    return describe.exit_reason_words(reason or "")


@register.inclusion_tag("sequences/_panel.html", takes_context=True)
def sequences_panel(context: template.Context, contact: Any) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    may_enrol = bool(
        user is not None
        and (
            user.has_perm("sequences.change_sequence")
            or (user.has_perm("sequences.add_enrollment") and contact.owner_id == user.pk)
        )
    )
    return {
        "contact": contact,
        "rows": selectors.contact_enrollments(contact=contact),
        "sequences": list(selectors.manual_sequences()) if may_enrol else [],
        "may_enrol": may_enrol,
        "csrf_token": context.get("csrf_token"),
        "perms": context.get("perms"),
    }


@register.inclusion_tag("sequences/_shared_trigger.html")
def shared_trigger_warning(sequence: Any = None) -> dict[str, Any]:
    return {"overlaps": overlaps_list(sequence=sequence), "current": sequence}
