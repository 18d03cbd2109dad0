"""The public side speaks Spanish, and the compiled catalogue matches its source."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

from django.test import Client

import spotline
from spotline.conftest import CENTRE, T0
from spotline.core.triage import Kind
from spotline.dispatch.actions.opening import IncidentRequest, incident_open

LOCALE = Path(spotline.__file__).parent / "locale"


def _po_entries() -> dict[str, str]:
    """msgid -> msgstr from the .po file (enough of a parser for our catalogue); a
    message with a context is keyed as gettext keys it."""
    text = (LOCALE / "es/LC_MESSAGES/django.po").read_text()
    entries = {}
    for block in text.split("\n\n"):
        if "#, fuzzy" in block and 'msgid ""\nmsgstr ""\n"' in block:
            continue
        ids = re.search(r'^msgid ((?:".*"\n?)+)', block, re.M)
        strs = re.search(r'^msgstr ((?:".*"\n?)+)', block, re.M)
        if not ids or not strs:
            continue
        join = lambda s: "".join(re.findall(r'"(.*)"', s)).encode().decode("unicode_escape")  # noqa: E731
        msgid = join(ids.group(1)).encode("latin-1").decode("utf-8")
        context = re.search(r'^msgctxt ((?:".*"\n?)+)', block, re.M)
        if msgid and context:  # as gettext keys it: "context\x04msgid"
            msgid = join(context.group(1)).encode("latin-1").decode("utf-8") + "\x04" + msgid
        if msgid:
            entries[msgid] = join(strs.group(1)).encode("latin-1").decode("utf-8")
    return entries


def test_it_translates_every_message_of_the_catalogue() -> None:
    entries = _po_entries()
    assert len(entries) > 50
    untranslated = [k for k, v in entries.items() if not v.strip()]
    assert untranslated == []


def test_it_ships_a_compiled_catalogue_that_matches_the_source() -> None:
    compiled = gettext.GNUTranslations((LOCALE / "es/LC_MESSAGES/django.mo").open("rb"))
    stale = [k for k, v in _po_entries().items() if compiled.gettext(k) != v]
    assert stale == [], "run `make messages` to recompile django.mo"


def test_it_serves_the_help_page_in_spanish(db) -> None:
    html = Client().get("/", headers={"Accept-Language": "es"}).content.decode()
    assert '<html lang="es">' in html
    assert "Pedir ayuda ahora" in html
    assert "Nunca enviamos a la policía" in html
    assert "Get help now" not in html


def test_it_tells_a_spanish_speaker_the_status_in_spanish(db) -> None:
    opened = incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE, language="es"
             ), now=T0)
    html = Client().get(f"/t/{opened.tracking_token}/",
                        headers={"Accept-Language": "es"}).content.decode()
    assert "Ahora mismo no hay nadie de turno" in html  # nobody is on shift in this test
    assert "naloxona" in html  # the first-aid guidance for an overdose
