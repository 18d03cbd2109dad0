from __future__ import annotations

import math
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from spotline.core.geo import Point
from spotline.core.triage import Answer, Kind
from spotline.dispatch.actions.answers import DETAILS_MAX
from spotline.dispatch.actions.opening import IncidentRequest
from spotline.dispatch.models import Source
from spotline.places.models import Landmark

KIND_LABELS = [
    (Kind.OVERDOSE.value, _("Overdose: someone took something and is not OK")),
    (Kind.MENTAL_HEALTH.value, _("Mental health crisis")),
    (Kind.MEDICAL.value, _("Hurt or sick")),
    (Kind.WELFARE_CHECK.value, _("Check on someone")),
    (Kind.CONFLICT.value, _("A conflict that needs calming down")),
    (Kind.OTHER.value, _("Something else")),
]
ANSWERS = [
    (Answer.YES.value, _("Yes")),
    (Answer.NO.value, _("No")),
    (Answer.UNKNOWN.value, _("Don't know")),
]


def request_from(data: dict[str, Any], *, source: Source, language: str = "en",
                 opened_by_user_id: int | None = None) -> IncidentRequest:
    """A help form's (or the console's caller form's) cleaned data as the one typed
    request every door builds (``dispatch.actions.opening``)."""
    lat, lon = data.get("lat"), data.get("lon")
    return IncidentRequest(
        kind=Kind(data["kind"]),
        location=Point(lat, lon) if lat is not None and lon is not None else None,
        description=data.get("where") or "", details=data.get("details") or "",
        breathing=Answer(data.get("breathing") or "unknown"),
        conscious=Answer(data.get("conscious") or "unknown"),
        danger=Answer(data.get("danger") or "unknown"),
        callback_phone=data.get("callback_phone") or "", language=language, source=source,
        opened_by_user_id=opened_by_user_id)


class HelpForm(forms.Form):
    kind = forms.ChoiceField(label=_("What is happening?"), choices=KIND_LABELS,
                             widget=forms.RadioSelect)
    # Optional: not answered is "don't know", which never lowers a priority.
    breathing = forms.ChoiceField(label=_("Are they breathing?"), choices=ANSWERS,
                                  initial=Answer.UNKNOWN.value, widget=forms.RadioSelect,
                                  required=False)
    conscious = forms.ChoiceField(label=_("Are they awake and answering?"), choices=ANSWERS,
                                  initial=Answer.UNKNOWN.value, widget=forms.RadioSelect,
                                  required=False)
    landmark = forms.ModelChoiceField(
        label=_("Or choose a place near you"), queryset=Landmark.objects.none(),
        required=False, empty_label=_("— none —"),
    )
    danger = forms.ChoiceField(label=_("Is anyone in danger right now?"), choices=ANSWERS,
                               initial=Answer.UNKNOWN.value, widget=forms.RadioSelect,
                               required=False)
    where = forms.CharField(
        label=_("Where are you? An address, cross streets or a place people know"),
        max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2}),
    )
    lat = forms.FloatField(required=False, min_value=-90, max_value=90,
                           widget=forms.HiddenInput)
    lon = forms.FloatField(required=False, min_value=-180, max_value=180,
                           widget=forms.HiddenInput)
    details = forms.CharField(label=_("Anything else the responder should know (optional)"),
                              max_length=DETAILS_MAX, required=False,
                              widget=forms.Textarea(attrs={"rows": 2}))
    callback_phone = forms.RegexField(
        label=_("A phone number to reach you (optional)"), required=False, max_length=32,
        regex=r"^\+?[0-9][0-9 ()./-]{4,30}$",
        error_messages={"invalid": _("Use digits only, like +1 555 010 0100.")},
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )

    # The form's own key (``submissions``): sent again, it shows the first request.
    # Browsers fetch the page again after Back, with a new key; help.js puts the sent
    # form's key back then. Never refused.
    submission = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["landmark"]
        if isinstance(field, forms.ModelChoiceField):
            field.queryset = Landmark.objects.filter(active=True)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        lat, lon = data.get("lat"), data.get("lon")
        for value in (lat, lon):
            if value is not None and not math.isfinite(value):
                raise forms.ValidationError(_("The location from your phone was not usable."))
        if (lat is None) != (lon is None):
            data["lat"] = data["lon"] = None
            lat = None
        landmark = data.get("landmark")
        if lat is None and landmark is not None:
            # No GPS: the landmark's point stands in, and its name joins the text.
            data["lat"], data["lon"] = landmark.lat, landmark.lon
            lat = landmark.lat
            where = (data.get("where") or "").strip()
            data["where"] = f"{landmark.name}. {where}" if where else landmark.name
        if lat is None and not (data.get("where") or "").strip():
            raise forms.ValidationError(
                _("Tell us where you are, so a responder can find you.")
            )
        return data


class MoreForm(forms.Form):
    """The status page's "Tell us more (optional)": after sending, the questions sent
    unanswered and more details (``answers.incident_tell_more`` decides what they
    change). Every field is optional; the page shows only what is still open."""

    # The help page's own questions, word for word (each form gets copies of them).
    breathing = HelpForm.base_fields["breathing"]
    conscious = HelpForm.base_fields["conscious"]
    danger = HelpForm.base_fields["danger"]
    details = forms.CharField(label=_("Anything else the responder should know (optional)"),
                              max_length=DETAILS_MAX, required=False,
                              widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, room: int = DETAILS_MAX, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "more_%s")
        super().__init__(*args, **kwargs)
        for name in ("breathing", "conscious", "danger"):
            self.fields[name].initial = None  # nothing chosen: sent as "don't know"
        # What is left of the details' limit after what was sent before: the browser
        # stops there; the action refuses more, whatever sends it.
        self.fields["details"].widget.attrs["maxlength"] = str(room)

    def answers(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {name: Answer(data.get(name) or Answer.UNKNOWN.value)
                for name in ("breathing", "conscious", "danger")} | {
                    "details": data.get("details") or ""}
