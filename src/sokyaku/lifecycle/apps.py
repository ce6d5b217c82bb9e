from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LifecycleConfig(AppConfig):
    name = "sokyaku.lifecycle"
    label = "lifecycle"
    verbose_name = _("Lifecycle")

    def ready(self) -> None:
        from sokyaku.activity.listeners import listener_register
        from sokyaku.lifecycle import reactions

        listener_register(
            name="lifecycle", stored=reactions.events_stored, committed=reactions.events_committed
        )
