from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SequencesConfig(AppConfig):
    name = "sokyaku.sequences"
    label = "sequences"
    verbose_name = _("Sequences")
