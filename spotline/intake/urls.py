from __future__ import annotations

from django.urls import path

from spotline.intake import views

app_name = "intake"
urlpatterns = [
    path("", views.help_form, name="help"),
    path("t/<str:token>/", views.status, name="status"),
    path("t/<str:token>/cancel/", views.cancel, name="cancel"),
    path("t/<str:token>/again/", views.again, name="again"),
    path("t/<str:token>/more/", views.more, name="more"),
]
