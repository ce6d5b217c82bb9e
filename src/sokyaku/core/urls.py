"""Home, sign-in and sign-out, health check, and the settings pages of core (``core:``)."""

from django.contrib.auth import views as auth_views
from django.urls import URLPattern, include, path

from sokyaku.core import views

settings_urlpatterns: list[URLPattern] = [
    path("access-log/", views.access_log, name="access_log"),
    path("api-keys/", views.apikeys, name="apikeys"),
    path("api-keys/<int:key_id>/revoke/", views.apikey_revoke, name="apikey_revoke"),
    path("profile/", views.staff_identity, name="staff_identity"),
    path("users/<int:user_id>/profile/", views.staff_identity, name="staff_identity_of"),
]

urlpatterns = [
    path("", views.home, name="home"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="core/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", views.healthz, name="healthz"),
    path("settings/", include((settings_urlpatterns, "core"))),
]
