"""Public capture endpoints: hosted forms at /f/<slug>, landing pages at /p/<slug>."""


app_name = "public"

urlpatterns: list = []  # type: ignore[type-arg]
