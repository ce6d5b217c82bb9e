from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HandoffConfig(AppConfig):
    name = "sokyaku.handoff"
    label = "handoff"
    verbose_name = _("Handoff")

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from sokyaku.activity.listeners import listener_register
        from sokyaku.handoff import reactions
        from sokyaku.handoff.models import HandoffTrigger

        listener_register(name="handoff", stored=reactions.events_stored)

        # The trigger cache follows every write, also ones that bypass the services (fixtures,
        # the shell); a cache is not domain flow.
        def forget(**_: object) -> None:
            reactions.triggers_changed()

        post_save.connect(forget, sender=HandoffTrigger, weak=False, dispatch_uid="handoff.trigger")
        post_delete.connect(
            forget, sender=HandoffTrigger, weak=False, dispatch_uid="handoff.trigger_del"
        )
