from __future__ import annotations

from django.urls import path

from spotline.intake import checkin_pages as views

app_name = "checkins"
urlpatterns = [
    path("checkin/", views.start, name="start"),
    path("checkin/plan/", views.plan_posted, name="plan_posted"),
    path("checkin/plan/delete/", views.plan_posted_delete, name="plan_posted_delete"),
    # Links saved before the token moved to the fragment: they keep working.
    path("checkin/p/<str:plan_token>/", views.plan, name="plan"),
    path("checkin/p/<str:plan_token>/delete/", views.plan_delete, name="plan_delete"),
    path("c/<str:token>/", views.page, name="page"),
    path("c/<str:token>/<str:what>/", views.answer, name="answer"),
]
