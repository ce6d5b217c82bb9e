"""Admin-site pages: API keys, read only (make and revoke them on the API keys page of the
settings or with the ``sokyaku`` command) and, on each user's page, their own chat
identities."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User

from sokyaku.core.models import ApiKey, StaffProfile
from sokyaku.core.services import staff_identity_save


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "prefix",
        "created_by",
        "is_system",
        "scopes",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    readonly_fields = [
        "name",
        "prefix",
        "created_by",
        "is_system",
        "scopes",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    exclude = ["secret_hash"]

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


class StaffProfileInline(admin.StackedInline):
    """The user's own chat identities, edited by admins on the user's admin page."""

    model = StaffProfile
    can_delete = False
    fields = ["slack_member_id", "line_user_id"]


class StaffUserAdmin(UserAdmin):
    inlines = [*UserAdmin.inlines, StaffProfileInline]

    def save_formset(self, request, form, formset, change):  # type: ignore[no-untyped-def]
        for profile in formset.save(commit=False):
            # Through the service: it validates and logs like the profile page.
            staff_identity_save(
                user=form.instance,
                slack_member_id=profile.slack_member_id,
                line_user_id=profile.line_user_id,
                actor=request.user,
            )


admin.site.unregister(User)
admin.site.register(User, StaffUserAdmin)
