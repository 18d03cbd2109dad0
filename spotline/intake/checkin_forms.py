from __future__ import annotations

import math
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from spotline.core.checkin import DEFAULT_MINUTES, MAX_MINUTES, MIN_MINUTES, Send

PHONE = r"^\+?[0-9][0-9 ()./-]{4,30}$"


class StartForm(forms.Form):
    where = forms.CharField(label=_("Where are you? Address or place"), max_length=500,
                            required=False, widget=forms.Textarea(attrs={"rows": 2}))
    access = forms.CharField(label=_("How to get in (e.g. door unlocked, back bedroom)"),
                             max_length=300, required=False)
    lat = forms.FloatField(required=False, min_value=-90, max_value=90,
                           widget=forms.HiddenInput)
    lon = forms.FloatField(required=False, min_value=-180, max_value=180,
                           widget=forms.HiddenInput)
    minutes = forms.IntegerField(label=_("Check on me in (minutes)"), min_value=MIN_MINUTES,
                                 max_value=MAX_MINUTES, initial=DEFAULT_MINUTES)
    send = forms.MultipleChoiceField(label=_("If I don't answer, send"), choices=[
        (Send.RESPONDERS.value, _("community responders")),
        (Send.TRUSTED.value, _("a person I trust (we text them where I am and how to get in)")),
        (Send.EMS.value, _("an ambulance"))],
        initial=[Send.RESPONDERS.value], widget=forms.CheckboxSelectMultiple, required=False)
    trusted_name = forms.CharField(label=_("Their name"), max_length=60, required=False)
    trusted_phone = forms.RegexField(label=_("Their phone"), regex=PHONE, required=False,
                                     max_length=32)
    from_name = forms.CharField(label=_("Your name, as they know you"), max_length=60,
                                required=False)
    phone = forms.RegexField(label=_("Your phone, for a text and a call before help is sent "
                               "(optional)"), regex=PHONE, required=False, max_length=32)
    save_plan = forms.BooleanField(label=_("Save this plan on this phone for next time "
                                     "(kept encrypted; delete it any time)"), required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        lat, lon = data.get("lat"), data.get("lon")
        if any(v is not None and not math.isfinite(v) for v in (lat, lon)) or (
                (lat is None) != (lon is None)):
            data["lat"] = data["lon"] = None
        if data.get("lat") is None and not (data.get("where") or "").strip():
            raise forms.ValidationError(_("Say where you are, so help can find you."))
        if not data.get("send"):
            # Nothing ticked: never leave someone without help; the default stands.
            data["send"] = [Send.RESPONDERS.value]
        if Send.TRUSTED.value in data["send"] and not data.get("trusted_phone"):
            self.add_error("trusted_phone", _("Give their phone, so we can text them."))
        return data
