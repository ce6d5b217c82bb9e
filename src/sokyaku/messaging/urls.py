"""Messaging UI under /messaging/: templates (the section's home), sender profiles,
broadcasts, chat channels, the sending pause, the Outbox."""

from django.urls import URLPattern, URLResolver, path

from sokyaku.messaging import outbox_views, views

app_name = "messaging"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.template_list, name="home"),
    path("templates/new/", views.template_create, name="template_create"),
    path("templates/<int:template_id>/", views.template_edit, name="template_edit"),
    path("templates/<int:template_id>/preview/", views.template_preview, name="template_preview"),
    path("templates/<int:template_id>/test/", views.template_test_send, name="template_test_send"),
    path("templates/<int:template_id>/delete/", views.template_delete, name="template_delete"),
    path("preview-contacts/", views.preview_contacts, name="preview_contacts"),
    path("senders/", views.sender_list, name="sender_list"),
    path("senders/new/", views.sender_create, name="sender_create"),
    path("senders/<int:profile_id>/", views.sender_edit, name="sender_edit"),
    path("senders/<int:profile_id>/pause/", views.sender_pause, name="sender_pause"),
    path("senders/<int:profile_id>/resume/", views.sender_resume, name="sender_resume"),
    # The kill switch: all marketing sending at once.
    path("sending/", views.sending, name="sending"),
    path("sending/pause/", views.sending_pause, name="sending_pause"),
    path("sending/resume/", views.sending_resume, name="sending_resume"),
    path("broadcasts/", views.broadcast_list, name="broadcast_list"),
    path("broadcasts/new/", views.broadcast_create, name="broadcast_create"),
    path("broadcasts/<int:broadcast_id>/", views.broadcast_detail, name="broadcast_detail"),
    path(
        "broadcasts/<int:broadcast_id>/schedule/",
        views.broadcast_schedule,
        name="broadcast_schedule",
    ),
    path("broadcasts/<int:broadcast_id>/cancel/", views.broadcast_cancel, name="broadcast_cancel"),
    path("broadcasts/<int:broadcast_id>/test/", views.broadcast_test_send, name="broadcast_test"),
    path("frequency/", views.frequency_cap_edit, name="frequency"),
    path("chat/", views.chat_list, name="chat_list"),
    path("chat/new/", views.chat_create, name="chat_create"),
    path("chat/<int:channel_id>/", views.chat_edit, name="chat_edit"),
    # A contact's unsubscribe and preference-centre links (from the contact page).
    path(
        "contacts/<int:contact_id>/links/rotate/",
        views.contact_links_rotate,
        name="contact_links_rotate",
    ),
    # The sending engine's Outbox page.
    path("outbox/", outbox_views.outbox_list, name="outbox"),
    path("outbox/<int:message_id>/", outbox_views.outbox_detail, name="outbox_detail"),
    path("outbox/resend/", outbox_views.outbox_resend, name="outbox_resend"),
]
