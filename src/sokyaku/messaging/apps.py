from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    name = "sokyaku.messaging"
    label = "messaging"
    verbose_name = _("Messaging")

    def ready(self) -> None:
        from sokyaku.activity import listeners
        from sokyaku.messaging.services.tracking import messages_stop_for_withdrawals

        # An opt-out stops every queued marketing message at once (same transaction).
        listeners.listener_register(name="messaging", stored=messages_stop_for_withdrawals)
