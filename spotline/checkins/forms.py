from __future__ import annotations

import math
from typing import Any

from django import forms

from spotline.core.checkin import DEFAULT_MINUTES, MAX_MINUTES, MIN_MINUTES, Send

PHONE = r"^\+?[0-9][0-9 ()./-]{4,30}$"


class StartForm(forms.Form):
    where = forms.CharField(label="Where are you? Address or place", max_length=500,
                            required=False, widget=forms.Textarea(attrs={"rows": 2}))
    access = forms.CharField(label="How to get in (e.g. door unlocked, back bedroom)",
                             max_length=300, required=False)
    lat = forms.FloatField(required=False, min_value=-90, max_value=90,
                           widget=forms.HiddenInput)
    lon = forms.FloatField(required=False, min_value=-180, max_value=180,
                           widget=forms.HiddenInput)
    minutes = forms.IntegerField(label="Check on me in (minutes)", min_value=MIN_MINUTES,
                                 max_value=MAX_MINUTES, initial=DEFAULT_MINUTES)
    send = forms.MultipleChoiceField(label="If I don't answer, send", choices=[
        (Send.RESPONDERS.value, "community responders"),
        (Send.TRUSTED.value, "a person I trust (we text them where I am and how to get in)"),
        (Send.EMS.value, "an ambulance")],
        initial=[Send.RESPONDERS.value], widget=forms.CheckboxSelectMultiple, required=False)
    trusted_name = forms.CharField(label="Their name", max_length=60, required=False)
    trusted_phone = forms.RegexField(label="Their phone", regex=PHONE, required=False,
                                     max_length=32)
    from_name = forms.CharField(label="Your name, as they know you", max_length=60,
                                required=False)
    phone = forms.RegexField(label="Your phone, for a text and a call before help is sent "
                             "(optional)", regex=PHONE, required=False, max_length=32)
    save_plan = forms.BooleanField(label="Save this plan on this phone for next time "
                                   "(kept encrypted; delete it any time)", required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        lat, lon = data.get("lat"), data.get("lon")
        if any(v is not None and not math.isfinite(v) for v in (lat, lon)) or (
                (lat is None) != (lon is None)):
            data["lat"] = data["lon"] = None
        if data.get("lat") is None and not (data.get("where") or "").strip():
            raise forms.ValidationError("Say where you are, so help can find you.")
        if not data.get("send"):
            # Nothing ticked: never leave someone without help; the default stands.
            data["send"] = [Send.RESPONDERS.value]
        if Send.TRUSTED.value in data["send"] and not data.get("trusted_phone"):
            self.add_error("trusted_phone", "Give their phone, so we can text them.")
        return data
