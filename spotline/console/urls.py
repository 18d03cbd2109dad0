from __future__ import annotations

from django.urls import path

from spotline.console import place_views, sms_views, views

app_name = "console"
urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.new_incident, name="new"),
    path("setup/", views.setup, name="setup"),
    path("incidents/<int:incident_id>/", views.detail, name="detail"),
    path("incidents/<int:incident_id>/assign/", views.assign, name="assign"),
    path("incidents/<int:incident_id>/escalate/", views.escalate, name="escalate"),
    path("incidents/<int:incident_id>/cancel/", views.cancel, name="cancel"),
    path("incidents/<int:incident_id>/note/", views.note, name="note"),
    path("incidents/<int:incident_id>/report/", views.report, name="report"),
    path("incidents/<int:incident_id>/place/", place_views.place, name="place"),
    path("sms/", sms_views.sms_list, name="sms"),
    path("sms/<int:conversation_id>/", sms_views.sms_detail, name="sms-detail"),
    path("sms/<int:conversation_id>/take/", sms_views.sms_take, name="sms-take"),
    path("sms/<int:conversation_id>/reply/", sms_views.sms_reply, name="sms-reply"),
]
