from __future__ import annotations

from django.urls import path

from spotline.field import views

app_name = "responder"
urlpatterns = [
    path("", views.index, name="index"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("sw.js", views.service_worker, name="sw"),
    path("offline/", views.offline, name="offline"),
    path("shift/", views.shift, name="shift"),
    path("offers/<int:offer_id>/<str:answer>/", views.answer, name="answer"),
    path("incidents/<int:incident_id>/report/", views.report, name="report"),
    path("incidents/<int:incident_id>/outcome/", views.outcome, name="outcome"),
]
