from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "sokyaku.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from sokyaku.core.roles import roles_sync

        post_migrate.connect(roles_sync, sender=self, dispatch_uid="sokyaku.roles_sync")
