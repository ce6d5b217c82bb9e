from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScoringConfig(AppConfig):
    name = "sokyaku.scoring"
    label = "scoring"
    verbose_name = _("Scoring")

    def ready(self) -> None:
        from sokyaku.activity.listeners import listener_register
        from sokyaku.scoring.services.engine import events_score

        listener_register(name="scoring", stored=events_score)
