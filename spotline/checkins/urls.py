from __future__ import annotations

from django.urls import path

from spotline.checkins import views

app_name = "checkins"
urlpatterns = [
    path("checkin/", views.start, name="start"),
    path("c/<str:token>/", views.page, name="page"),
    path("c/<str:token>/<str:what>/", views.answer, name="answer"),
]
