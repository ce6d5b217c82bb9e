"""Lead capture UI (forms, landing pages, assets, webinars)."""


app_name = "capture"

urlpatterns: list = []  # type: ignore[type-arg]
