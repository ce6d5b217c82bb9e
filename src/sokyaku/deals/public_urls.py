"""Public referral links (no login): ``/r/<code>``."""

from django.urls import path  # noqa: F401

app_name = "referrals"

urlpatterns: list = []
