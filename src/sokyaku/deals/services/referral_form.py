"""The referral form: where a referral link (``/r/<code>``) leads when no landing page is
configured (``SOKYAKU_REFERRAL_LANDING_URL``).

It is an ordinary hosted form of the kind ``referral`` (registered here with the form kinds):
name, email, company, the purpose of use (利用目的) and consent checkboxes like every form, so a
marketer edits, restyles or unpublishes it on the forms page. The link adds ``?ref=<code>`` to
its address, and the deals listener attributes the person who sends it to the referrer.

``referral_form_landing`` answers the published referral form (the oldest one, when there are
several). On a new installation there is none: the first link followed sets one up with a
standard purpose-of-use text in the site's language. Once any referral form exists, nothing is
created any more: a marketer who unpublished theirs gets ``None`` (the link then says the page
is closed) rather than a new form behind their back.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext, gettext_lazy, pgettext

from sokyaku.capture.kinds import FormKind, form_kind_register
from sokyaku.capture.models import FieldType, Form
from sokyaku.capture.services import forms as form_services
from sokyaku.capture.services.forms import ConsentSpec, FieldSpec, FormInput
from sokyaku.consent.models import ConsentTopic

logger = logging.getLogger(__name__)

KIND = "referral"
SLUG = "referral"
# Offered as a checkbox when the installation has this topic (a new one does).
NEWSLETTER_TOPIC = "newsletter"


def referral_kind_register() -> None:
    """Add the ``referral`` kind to the form kinds (from ``DealsConfig.ready``)."""
    form_kind_register(
        FormKind(
            key=KIND,
            label=gettext_lazy("Referral sign-up"),
            description=gettext_lazy(
                "The page a customer's referral link leads to: whoever sends it is recorded as "
                "referred by that customer."
            ),
        )
    )


def _default_input() -> FormInput:
    """The referral form a new installation starts with, in the site's language."""
    newsletter = ConsentTopic.objects.filter(key=NEWSLETTER_TOPIC, is_active=True).first()
    with translation.override(settings.LANGUAGE_CODE):
        return FormInput(
            name=gettext("Referral form"),
            slug=SLUG,
            kind=KIND,
            title=gettext("You were introduced to us"),
            introduction=gettext(
                "Thank you for your interest. Leave your details and we will get in touch."
            ),
            purpose_title=gettext("Handling of your personal information"),
            purpose_body=gettext(
                "We use the personal information you enter to contact you about this "
                "introduction, to send you information about our products and services, and to "
                "record who introduced you. We do not give it to third parties without your "
                "consent, except where the law requires it."
            ),
            fields=[
                FieldSpec(type=FieldType.NAME, label=pgettext("form field", "Name"), required=True),
                FieldSpec(
                    type=FieldType.EMAIL, label=pgettext("form field", "Email"), required=True
                ),
                FieldSpec(type=FieldType.COMPANY, label=pgettext("form field", "Company")),
            ],
            consents=(
                [ConsentSpec(topic=newsletter.key, label=newsletter.name)] if newsletter else []
            ),
        )


def referral_form_landing() -> Form | None:
    """The published referral form a referral link leads to, set up on first use (see the
    module docstring); ``None`` when the marketer has unpublished every referral form."""
    published = Form.objects.filter(kind=KIND, is_published=True).order_by("id").first()
    if published is not None:
        return published
    if Form.objects.filter(kind=KIND).exists():
        return None
    form = form_services.form_create(data=_default_input())
    form = form_services.form_publish(form=form)
    logger.info("referral.form_created", extra={"form": form.pk, "slug": form.slug})
    return form
