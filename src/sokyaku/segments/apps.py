from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SegmentsConfig(AppConfig):
    name = "sokyaku.segments"
    label = "segments"
    verbose_name = _("Segments")

    def ready(self) -> None:
        from sokyaku.segments import listeners, tasks  # noqa: F401  (tasks register with Huey)

        listeners.register()
