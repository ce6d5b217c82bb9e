from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SequencesConfig(AppConfig):
    name = "sokyaku.sequences"
    label = "sequences"
    verbose_name = _("Sequences")

    def ready(self) -> None:
        from sokyaku.activity.listeners import listener_register
        from sokyaku.sequences.services import triggers

        # After commit only: enrolments, exits and goals run in the worker, seconds later.
        listener_register(name="sequences", committed=triggers.events_committed)
