"""Public capture endpoints: hosted forms at /f/<slug>, landing pages at /p/<slug>.

Addresses people type or paste (a form, a page, a link from a mail) answer with and without a
trailing slash: ``/f/seminar/`` is the same form as ``/f/seminar``, not a 404.
"""

from django.urls import URLPattern, URLResolver, path

from sokyaku.capture import asset_views, public_views

app_name = "public"

urlpatterns: list[URLPattern | URLResolver] = [
    path("f/confirm/<str:token>", public_views.form_confirm, name="confirm"),
    path("f/confirm/<str:token>/", public_views.form_confirm),
    path("f/<slug:slug>", public_views.form_public, name="form"),
    path("f/<slug:slug>/", public_views.form_public),
    path("f/<slug:slug>/embed.js", public_views.form_embed_script, name="form_embed_script"),
    path("f/<slug:slug>/embed", public_views.form_embed_fragment, name="form_embed"),
    path("p/<slug:slug>", public_views.page_public, name="page"),
    path("p/<slug:slug>/", public_views.page_public),
    path("a/<str:token>", asset_views.asset_download, name="asset_download"),
    path("a/<str:token>/", asset_views.asset_download),
]
