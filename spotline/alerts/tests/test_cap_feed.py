"""The fixed contract for other systems: ``/alerts/<id>.cap.xml`` serves the stored CAP
1.2 message (404 draft or unknown, 410 cancelled with its Cancel message beside it, 301
superseded), and ``/alerts/feed.atom`` is Atom of the current alerts' CAP messages."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import feedparser
import pytest
import time_machine
from django.test import Client

from spotline.alerts.actions.review import (
    AlertFields,
    alert_cancel,
    alert_draft,
    alert_publish,
    alert_revise,
)
from spotline.alerts.cap import schema
from spotline.alerts.models import Alert, Area, CapMessage
from spotline.conftest import CENTRE, T0
from spotline.core.triage import Kind
from spotline.dispatch.actions.opening import IncidentRequest, incident_open

pytestmark = pytest.mark.django_db

NOW = T0 + timedelta(hours=2)
CAP = "application/cap+xml; charset=utf-8"
NS = {"cap": "urn:oasis:names:tc:emergency:cap:1.2"}


@pytest.fixture(autouse=True)
def clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def make_alert(area: Area, people: tuple[Any, Any], *, publish: bool = True,
               hours: int = 24, **changes: Any) -> Alert:
    author, second = people
    fields: dict[str, Any] = {
        "substance": "nitazenes", "severity": "extreme", "expires": T0 + timedelta(hours=hours),
        "area_ids": [area.pk], "signs": ["several_doses"],
        "text": "Blue tablets sold as oxycodone; several needed more naloxone."}
    fields.update(changes)
    alert = alert_draft(fields=AlertFields(**fields), user_id=author.pk, now=T0)
    if publish:
        alert_publish(alert_id=alert.pk, user_id=second.pk, now=T0)
    return Alert.objects.get(pk=alert.pk)


def get(path: str) -> Any:
    return Client().get(path)


# -- one alert's CAP message -----------------------------------------------------------------


def test_it_serves_the_stored_message_as_valid_cap(centre_area: Area,
                                                   coordinators: tuple[Any, Any]) -> None:
    alert = make_alert(centre_area, coordinators)
    response = get(f"/alerts/{alert.pk}.cap.xml")
    assert response.status_code == 200
    assert response["Content-Type"] == CAP
    body = response.content.decode()
    schema().validate(body)
    assert body == CapMessage.objects.get(alert=alert).xml  # stored, not rebuilt
    data = schema().to_dict(body)
    assert data["msgType"] == "Alert" and data["scope"] == "Public"
    assert data["info"][0]["area"][0]["areaDesc"] == "Keskusta"


def test_drafts_and_unknown_alerts_are_not_found(centre_area: Area,
                                                 coordinators: tuple[Any, Any]) -> None:
    draft = make_alert(centre_area, coordinators, publish=False)
    for path in (f"/alerts/{draft.pk}.cap.xml", "/alerts/987654.cap.xml",
                 f"/alerts/{draft.pk}.cancel.cap.xml"):
        assert get(path).status_code == 404, path
    # A draft thrown away was never published: still not found, not "gone".
    alert_cancel(alert_id=draft.pk, user_id=coordinators[0].pk, now=T0)
    assert get(f"/alerts/{draft.pk}.cap.xml").status_code == 404


def test_a_cancelled_alert_is_gone_and_its_cancel_is_served(
        centre_area: Area, coordinators: tuple[Any, Any]) -> None:
    alert = make_alert(centre_area, coordinators)
    assert get(f"/alerts/{alert.pk}.cancel.cap.xml").status_code == 404  # not yet
    first = CapMessage.objects.get(alert=alert)
    alert_cancel(alert_id=alert.pk, user_id=coordinators[0].pk, now=T0 + timedelta(hours=1))
    gone = get(f"/alerts/{alert.pk}.cap.xml")
    assert gone.status_code == 410
    assert gone["Content-Type"].startswith("text/plain")
    assert "withdrawn" in gone.content.decode()
    assert f"/alerts/{alert.pk}.cancel.cap.xml" in gone.content.decode()
    cancel = get(f"/alerts/{alert.pk}.cancel.cap.xml")
    assert cancel.status_code == 200 and cancel["Content-Type"] == CAP
    schema().validate(cancel.content.decode())
    data = schema().to_dict(cancel.content.decode())
    assert data["msgType"] == "Cancel"
    assert [r.split(",")[1] for r in data["references"].split()] == [first.identifier]


def test_a_superseded_alert_moves_to_its_update(centre_area: Area,
                                                coordinators: tuple[Any, Any]) -> None:
    author, second = coordinators
    old = make_alert(centre_area, coordinators)
    update = alert_revise(alert_id=old.pk, user_id=author.pk, now=T0)
    alert_publish(alert_id=update.pk, user_id=second.pk, now=T0 + timedelta(minutes=30))
    moved = get(f"/alerts/{old.pk}.cap.xml")
    assert moved.status_code == 301
    assert moved["Location"] == f"/alerts/{update.pk}.cap.xml"
    newer = get(moved["Location"]).content.decode()
    schema().validate(newer)
    data = schema().to_dict(newer)
    assert data["msgType"] == "Update"
    assert CapMessage.objects.get(alert=old).identifier in data["references"]
    # Updated twice: the first still leads straight to the newest.
    again = alert_revise(alert_id=update.pk, user_id=author.pk, now=T0 + timedelta(hours=1))
    alert_publish(alert_id=again.pk, user_id=second.pk, now=T0 + timedelta(hours=1))
    assert get(f"/alerts/{old.pk}.cap.xml")["Location"] == f"/alerts/{again.pk}.cap.xml"


# -- the Atom feed ---------------------------------------------------------------------------


def cap_links(entry: Any) -> list[str]:
    return [link["href"] for link in entry.links if link.get("type") == "application/cap+xml"]


def test_the_feed_has_one_entry_per_current_alert_and_recent_cancels(
        centre_area: Area, vuosaari_area: Area, coordinators: tuple[Any, Any],
        settings: Any) -> None:
    settings.SPOTLINE_SITE_URL = "https://alerts.example.org"
    author, second = coordinators
    current = make_alert(centre_area, coordinators)
    make_alert(centre_area, coordinators, publish=False)  # a draft
    make_alert(vuosaari_area, coordinators, hours=1)  # expired at T0 + 1 h
    old = make_alert(vuosaari_area, coordinators, substance="xylazine")
    update = alert_revise(alert_id=old.pk, user_id=author.pk, now=T0)
    alert_publish(alert_id=update.pk, user_id=second.pk, now=T0)
    withdrawn = make_alert(vuosaari_area, coordinators, substance="medetomidine", hours=6)
    alert_cancel(alert_id=withdrawn.pk, user_id=author.pk, now=T0 + timedelta(hours=1))
    response = get("/alerts/feed.atom")
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    by_cap = {cap_links(e)[0]: e for e in feed.entries}
    site = "https://alerts.example.org"
    assert set(by_cap) == {f"{site}/alerts/{current.pk}.cap.xml",
                           f"{site}/alerts/{update.pk}.cap.xml",
                           f"{site}/alerts/{withdrawn.pk}.cancel.cap.xml"}
    entry = by_cap[f"{site}/alerts/{current.pk}.cap.xml"]
    message = CapMessage.objects.get(alert=current)
    assert entry.title == "Drug alert: nitazenes or carfentanil (stronger than fentanyl)"
    assert message.identifier in entry.id
    assert entry.updated_parsed[:5] == T0.timetuple()[:5]
    assert "Blue tablets sold as oxycodone" in entry.summary
    assert f"{site}/alerts/{current.pk}/" in [link["href"] for link in entry.links
                                              if link.get("type") == "text/html"]
    assert len({e.id for e in feed.entries}) == 3
    cancel_entry = by_cap[f"{site}/alerts/{withdrawn.pk}.cancel.cap.xml"]
    assert CapMessage.objects.get(alert=withdrawn, msg_type="Cancel").identifier in cancel_entry.id
    # Once the cancelled alert would have expired, its Cancel leaves the feed.
    with time_machine.travel(T0 + timedelta(hours=7), tick=False):
        later = feedparser.parse(get("/alerts/feed.atom").content)
    assert {cap_links(e)[0] for e in later.entries} == {
        f"{site}/alerts/{current.pk}.cap.xml", f"{site}/alerts/{update.pk}.cap.xml"}


def test_an_empty_feed_is_still_a_valid_feed(centre_area: Area) -> None:
    feed = feedparser.parse(get("/alerts/feed.atom").content)
    assert not feed.bozo and feed.version == "atom10" and feed.entries == []
    assert feed.feed.title
    assert Client().head("/alerts/feed.atom").status_code == 200  # feed readers ask first


def test_cap_and_feed_hold_no_point_phone_or_incident(centre_area: Area,
                                                      coordinators: tuple[Any, Any]) -> None:
    opened = incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE,
                                           callback_phone="+358401230001"), now=T0)
    alert = make_alert(centre_area, coordinators)
    cap = get(f"/alerts/{alert.pk}.cap.xml").content.decode()
    feed = get("/alerts/feed.atom").content.decode()
    for text in (cap, feed):
        for secret in ("358401230001", f"{CENTRE.lat:.4f}", f"{CENTRE.lon:.4f}",
                       opened.tracking_token, f"incident {opened.incident.pk}"):
            assert secret not in text
    # The only coordinates are the area's polygon, in CAP's "lat,lon" pairs.
    root = ET.fromstring(cap.encode())  # noqa: S314 - our own output, parsed to check it
    polygons = [p.text or "" for p in root.iterfind(".//cap:polygon", NS)]
    assert polygons and not root.findall(".//cap:circle", NS)
    outside = cap
    for polygon in polygons:
        outside = outside.replace(polygon, "")
    assert re.findall(r"-?\d{1,3}\.\d{3,}", outside) == []
    assert re.findall(r"-?\d{1,3}\.\d{3,}", feed) == []
