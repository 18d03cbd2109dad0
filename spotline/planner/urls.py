"""The planner's page for coordinators (``/planner/``)."""

from __future__ import annotations

from django.urls import URLPattern, path

from spotline.planner import views

app_name = "planner"

urlpatterns: list[URLPattern] = [
    path("", views.index, name="index"),
    path("<int:job_id>/", views.job_page, name="job"),
    path("<int:job_id>/status.json", views.status, name="status"),
    path("<int:job_id>/files/<str:name>", views.output, name="file"),
    path("<int:job_id>/delete/", views.delete, name="delete"),
]
