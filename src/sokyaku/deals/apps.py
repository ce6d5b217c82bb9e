from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DealsConfig(AppConfig):
    name = "sokyaku.deals"
    label = "deals"
    verbose_name = _("Deals")

    def ready(self) -> None:
        from sokyaku.activity.listeners import listener_register
        from sokyaku.deals import reactions
        from sokyaku.deals.services.referral_form import referral_kind_register

        # Referral attribution from form submissions, rewards earned when a referred lead buys.
        listener_register(name="deals", committed=reactions.events_committed)
        # The kind of the referral form a referral link leads to by default.
        referral_kind_register()
