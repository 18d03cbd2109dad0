"""Template words for staff screens: ``{% load words %}``.

- ``{{ incident.state|word:"state" }}``: a code as words (``dispatch/words.py``);
- ``{{ responder.skills|words:"skill" }}``: a list of codes;
- ``{% when offer.expires_at %}``: "in 40 s", with the local clock time as its title and
  the exact instant for live.js, which keeps the words true every second;
- ``{{ offer.eta_seconds|minutes }}``: "3 min";
- ``{% ui_strings %}``: the scripts' words in the page's language, before live.js.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from django import template
from django.utils import timezone
from django.utils.formats import time_format
from django.utils.html import format_html, json_script
from django.utils.safestring import SafeString
from django.utils.translation import gettext

from spotline.dispatch import words as w

register = template.Library()


@register.filter
def word(code: Any, group: str) -> str:
    return w.word(group, code)


@register.filter
def words(codes: Any, group: str) -> str:
    return w.words(group, codes)


@register.simple_tag
def when(at: datetime | None, now: datetime | None = None) -> SafeString | str:
    if at is None:
        return "—"
    now = now or timezone.now()
    local = timezone.localtime(at)
    return format_html('<time datetime="{}" data-now="{}" title="{}" data-relative>{}</time>',
                       at.isoformat(), now.isoformat(), time_format(local, "H:i:s"),
                       w.relative((at - now).total_seconds()))


@register.simple_tag
def ui_strings() -> SafeString:
    """The words live.js and the page's script say, as JSON (read by live.js)."""
    return json_script(w.ui_strings(), "ui-strings")


@register.filter
def minutes(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    return gettext("%(n)s min") % {"n": max(1, math.ceil(seconds / 60))}
