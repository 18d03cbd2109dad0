from __future__ import annotations

from django.urls import path

from spotline.intake import place_pages, views

app_name = "intake"
urlpatterns = [
    path("", views.help_form, name="help"),
    path("t/<str:token>/", views.status, name="status"),
    path("t/<str:token>/cancel/", views.cancel, name="cancel"),
    path("t/<str:token>/again/", views.again, name="again"),
    path("t/<str:token>/more/", views.more, name="more"),
    path("t/<str:token>/place/", place_pages.place, name="place"),
    path("places/suggest", place_pages.suggest, name="suggest"),
]
