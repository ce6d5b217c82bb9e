"""Admin-site pages for channels, channel rules, campaigns and their monthly costs."""

from django.contrib import admin

from sokyaku.campaigns.models import Campaign, Channel, ChannelCost, ChannelRule


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ["name", "key", "kind", "is_active"]
    prepopulated_fields = {"key": ["name"]}


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "channel", "utm_campaign", "starts_on", "ends_on"]
    list_filter = ["channel"]


@admin.register(ChannelCost)
class ChannelCostAdmin(admin.ModelAdmin):
    list_display = ["month", "channel", "campaign", "amount_jpy"]
    list_filter = ["channel"]


@admin.register(ChannelRule)
class ChannelRuleAdmin(admin.ModelAdmin):
    list_display = ["priority", "name", "channel", "source_op", "medium_op", "referrer_op"]
    list_filter = ["channel", "is_active"]
