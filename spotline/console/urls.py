from __future__ import annotations

from django.urls import path

from spotline.console import alert_views, area_views, place_views, sms_views, views

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
    # Community drug alerts (coordinators): areas, review, compose, publish.
    path("areas/", area_views.areas, name="areas"),
    path("areas/<int:area_id>/", area_views.area_edit, name="area-edit"),
    path("areas/<int:area_id>/delete/", area_views.area_remove, name="area-delete"),
    path("alerts/", alert_views.alerts, name="alerts"),
    path("alerts/new/", alert_views.alert_new, name="alert-new"),
    path("alerts/drug-check/", alert_views.drug_check, name="drug-check"),
    path("alerts/<int:alert_id>/", alert_views.alert_change, name="alert"),
    path("alerts/<int:alert_id>/publish/", alert_views.publish, name="alert-publish"),
    path("alerts/<int:alert_id>/update/", alert_views.revise, name="alert-update"),
    path("alerts/<int:alert_id>/cancel/", alert_views.cancel, name="alert-cancel"),
    path("alerts/reports/<int:report_id>/dismiss/", alert_views.dismiss_report,
         name="report-dismiss"),
    path("alerts/signals/<int:signal_id>/dismiss/", alert_views.dismiss_signal,
         name="signal-dismiss"),
]
