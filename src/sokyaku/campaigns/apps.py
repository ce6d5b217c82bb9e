from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _install_defaults(**_: Any) -> None:
    from sokyaku.campaigns.services import channel_defaults_install_once

    channel_defaults_install_once()


class CampaignsConfig(AppConfig):
    name = "sokyaku.campaigns"
    label = "campaigns"
    verbose_name = _("Campaigns")

    def ready(self) -> None:
        # The default channels and rules, once (see services.channel_defaults_install_once).
        post_migrate.connect(
            _install_defaults, sender=self, dispatch_uid="sokyaku.channel_defaults_install"
        )
