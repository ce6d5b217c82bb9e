"""Registers the form kinds of gated assets and webinars with the kind registry
(``capture.kinds``): ``asset_download`` and ``webinar_registration``. Imported once from
``CaptureConfig.ready``."""

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from sokyaku.capture import gated_selectors
from sokyaku.capture.kinds import FormKind, KindOption, form_kind_register
from sokyaku.capture.services import assets, webinars


def _asset_choices() -> list[tuple[int, str]]:
    return [(a.pk, a.title) for a in gated_selectors.asset_list(user=None).only("id", "title")]


def _webinar_choices() -> list[tuple[int, str]]:
    return [
        (w.pk, f"{w.title}（{timezone.localtime(w.starts_at):%Y/%m/%d %H:%M}）")
        for w in gated_selectors.webinar_list(user=None)
    ]


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
            option=KindOption(
                key="asset",
                label=_("Asset"),
                choices=_asset_choices,
                empty_text=_("No assets yet: upload a document or give a trial's address first."),
                create_url_name="capture:asset_create",
            ),
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
            option=KindOption(
                key="webinar",
                label=_("Webinar"),
                choices=_webinar_choices,
                empty_text=_("No webinars yet: set one up first."),
                create_url_name="capture:webinar_create",
            ),
        )
    )
