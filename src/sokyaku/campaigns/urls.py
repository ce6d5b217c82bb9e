"""Channels, mapping rules, campaigns and costs UI."""


app_name = "campaigns"

urlpatterns: list = []  # type: ignore[type-arg]
