from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PrivacyConfig(AppConfig):
    """Erasure, export, deletion and retention of a person's data."""

    name = "sokyaku.privacy"
    label = "privacy"
    verbose_name = _("Privacy")
