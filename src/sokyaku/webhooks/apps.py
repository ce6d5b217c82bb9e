from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    """Outgoing webhooks: subscriptions, deliveries, the delivery log."""

    name = "sokyaku.webhooks"
    label = "webhooks"
    verbose_name = _("Webhooks")
