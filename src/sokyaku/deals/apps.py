from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DealsConfig(AppConfig):
    name = "sokyaku.deals"
    label = "deals"
    verbose_name = _("Deals")

    def ready(self) -> None:
        from sokyaku.deals.services.referral_form import referral_kind_register

        # The kind of the referral form a referral link leads to by default.
        referral_kind_register()
