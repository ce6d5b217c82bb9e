"""Admin-site pages for contact configuration (custom fields, tags).

Contacts and companies themselves are edited in sokyaku's own UI, whose services keep the dedupe
keys, the timeline and merge records right; the admin site only lists them.
"""

from django.contrib import admin

from sokyaku.contacts.models import Company, Contact, FieldDefinition, Tag


@admin.register(FieldDefinition)
class FieldDefinitionAdmin(admin.ModelAdmin):
    list_display = ["key", "label", "type"]
    search_fields = ["key", "label"]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ["name"]


class _ReadOnly:
    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Contact)
class ContactAdmin(_ReadOnly, admin.ModelAdmin):
    list_display = ["__str__", "email", "company", "created_at"]
    search_fields = ["search_text"]
    list_select_related = ["company"]


@admin.register(Company)
class CompanyAdmin(_ReadOnly, admin.ModelAdmin):
    list_display = ["name", "industry", "employee_band", "prefecture"]
    search_fields = ["name", "match_key"]
