"""Public referral links (no login): ``/r/<code>``."""

from django.urls import path

from sokyaku.deals import public_views

app_name = "referrals"

urlpatterns = [
    path("<str:code>", public_views.referral_follow, name="follow"),
]
