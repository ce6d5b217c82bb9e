from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CaptureConfig(AppConfig):
    name = "sokyaku.capture"
    label = "capture"
    verbose_name = _("Lead capture")

    def ready(self) -> None:
        from sokyaku.capture import gated

        gated.kinds_register()
