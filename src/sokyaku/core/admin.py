"""Admin-site page listing API keys (create and revoke them with the ``sokyaku`` command)."""

from django.contrib import admin

from sokyaku.core.models import ApiKey


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "scopes", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["name", "prefix", "scopes", "created_at", "last_used_at", "revoked_at"]
    exclude = ["secret_hash"]

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
