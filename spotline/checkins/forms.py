from __future__ import annotations

import math
from typing import Any

from django import forms

from spotline.core.checkin import DEFAULT_MINUTES, MAX_MINUTES, MIN_MINUTES


class StartForm(forms.Form):
    where = forms.CharField(label="Where are you? Address, place, and how to get in "
                            "(e.g. door unlocked, back bedroom)", max_length=500,
                            required=False, widget=forms.Textarea(attrs={"rows": 2}))
    lat = forms.FloatField(required=False, min_value=-90, max_value=90,
                           widget=forms.HiddenInput)
    lon = forms.FloatField(required=False, min_value=-180, max_value=180,
                           widget=forms.HiddenInput)
    minutes = forms.IntegerField(label="Check on me in (minutes)", min_value=MIN_MINUTES,
                                 max_value=MAX_MINUTES, initial=DEFAULT_MINUTES)
    on_miss = forms.ChoiceField(label="If I don't answer, send", choices=[
        ("responders", "community responders"),
        ("responders_and_ems", "community responders and an ambulance")],
        initial="responders", widget=forms.RadioSelect)
    phone = forms.RegexField(label="Your phone, for a text and a call before help is sent "
                             "(optional)", regex=r"^\+?[0-9][0-9 ()./-]{4,30}$",
                             required=False, max_length=32)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        lat, lon = data.get("lat"), data.get("lon")
        if any(v is not None and not math.isfinite(v) for v in (lat, lon)) or (
                (lat is None) != (lon is None)):
            data["lat"] = data["lon"] = None
        if data.get("lat") is None and not (data.get("where") or "").strip():
            raise forms.ValidationError("Say where you are, so help can find you.")
        return data
