from django.urls import path

from sokyaku.consent import views

app_name = "consent"

urlpatterns = [
    path("", views.settings_page, name="settings"),
    path("topics/new/", views.topic_edit, name="topic_new"),
    path("topics/<int:topic_id>/", views.topic_edit, name="topic_edit"),
    path("texts/new/", views.purpose_text_edit, name="text_new"),
    path("texts/<slug:key>/", views.purpose_text_edit, name="text"),
]
