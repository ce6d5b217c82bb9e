"""Registers the form kinds of gated assets and webinars with the kind registry
(``capture.kinds``): ``asset_download`` and ``webinar_registration``. Imported once from
``CaptureConfig.ready``."""

from django.utils.translation import gettext_lazy as _

from sokyaku.capture.kinds import FormKind, form_kind_register
from sokyaku.capture.services import assets, webinars


def kinds_register() -> None:
    form_kind_register(
        FormKind(
            key=assets.KIND,
            label=_("Asset download"),
            description=_(
                "Hands out a document or trial behind the form: a download link on the "
                "thank-you page and by email."
            ),
            after_submit=assets.asset_after_submit,
            options_clean=assets.asset_options_clean,
        )
    )
    form_kind_register(
        FormKind(
            key=webinars.KIND,
            label=_("Webinar registration"),
            description=_(
                "Registers the person for a webinar or seminar and mails a confirmation with a "
                "calendar file."
            ),
            after_submit=webinars.registration_after_submit,
            options_clean=webinars.webinar_options_clean,
        )
    )
