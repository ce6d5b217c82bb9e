"""Deals UI routes (under ``/deals/``)."""

from django.urls import path

from sokyaku.deals.views import board, deals, forecast, qualify, quotas, referrals, setup

app_name = "deals"

urlpatterns = [
    path("", board.board, name="board"),
    path("new/", deals.deal_create, name="create"),
    path("<int:deal_id>/", deals.deal_detail, name="detail"),
    path("<int:deal_id>/edit/", deals.deal_edit, name="edit"),
    path("<int:deal_id>/move/", board.move, name="move"),
    path("<int:deal_id>/win/", deals.deal_win, name="win"),
    path("<int:deal_id>/lose/", deals.deal_lose, name="lose"),
    path("qualify/<int:handoff_id>/", qualify.qualify, name="qualify"),
    path("forecast/", forecast.forecast, name="forecast"),
    path("quotas/", quotas.quotas, name="quotas"),
    path("referrals/", referrals.referral_list, name="referrals"),
    path("referrals/<int:referral_id>/reward/", referrals.referral_reward, name="referral_reward"),
    path(
        "contacts/<int:contact_id>/referral-code/",
        deals.referral_code_create,
        name="referral_code_create",
    ),
    path("settings/", setup.settings, name="settings"),
    path("settings/pipelines/new/", setup.pipeline_edit, name="pipeline_create"),
    path("settings/pipelines/<int:pipeline_id>/", setup.pipeline_edit, name="pipeline_edit"),
    path(
        "settings/pipelines/<int:pipeline_id>/stages/new/",
        setup.stage_edit,
        name="stage_create",
    ),
    path(
        "settings/pipelines/<int:pipeline_id>/stages/<int:stage_id>/",
        setup.stage_edit,
        name="stage_edit",
    ),
    path(
        "settings/pipelines/<int:pipeline_id>/stages/<int:stage_id>/delete/",
        setup.stage_delete,
        name="stage_delete",
    ),
    path("settings/products/new/", setup.product_edit, name="product_create"),
    path("settings/products/<int:product_id>/", setup.product_edit, name="product_edit"),
]
