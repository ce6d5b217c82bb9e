"""Public referral links (no login): ``/r/<code>``, with or without a trailing slash."""

from django.urls import path

from sokyaku.deals import public_views

app_name = "referrals"

urlpatterns = [
    path("<str:code>", public_views.referral_follow, name="follow"),
    path("<str:code>/", public_views.referral_follow),
]
