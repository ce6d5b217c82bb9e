"""Public tracking endpoints (snippet, collect, pixel) under /t/."""


app_name = "tracking"

urlpatterns: list = []  # type: ignore[type-arg]
