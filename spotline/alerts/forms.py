"""The public alert forms: an anonymous report, and subscribing by email.

Reports ask for an area, never an address, and keep nothing about who sent them. The
checks here say in the reader's language what ``actions.reports.report_receive``
would refuse (too long, emoji only, empty), so the person gets a clear answer.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from spotline.alerts.models import Area
from spotline.alerts.words import SIGNS, SUBSTANCES
from spotline.core.alerts import MAX_REPORT_TEXT, Sign, meaningful

# Signs only staff can know: a drug-checking result, and a spike across the area.
STAFF_SIGNS = frozenset({Sign.UNEXPECTED_RESULT, Sign.MANY_OVERDOSES})


def public_signs() -> list[tuple[str, Any]]:
    return [(code, label) for code, label in SIGNS.items() if code not in STAFF_SIGNS]


class ReportForm(forms.Form):
    substance = forms.ChoiceField(
        label=_("What do you think it was? (if you know)"), required=False,
        choices=[("", _("I don't know")), *SUBSTANCES.items()])
    signs = forms.MultipleChoiceField(
        label=_("What did you see?"), required=False, choices=public_signs,
        widget=forms.CheckboxSelectMultiple)
    looked_like = forms.CharField(
        label=_("What did it look like? (colour, stamp, smell, what it was sold as)"),
        required=False, widget=forms.Textarea(attrs={"rows": 3}))
    what_happened = forms.CharField(
        label=_("What happened? (no names, please)"), required=False,
        widget=forms.Textarea(attrs={"rows": 4}))
    area = forms.ModelChoiceField(label=_("Roughly where? (an area, never an address)"),
                                  queryset=Area.objects.all(), required=False,
                                  empty_label=_("I'd rather not say"))

    def _words(self, name: str) -> str:
        text = str(self.cleaned_data.get(name) or "").strip()
        if len(text) > MAX_REPORT_TEXT:
            raise forms.ValidationError(gettext(
                "This is at most %(max)d characters; it has %(n)d. Please shorten it.")
                % {"max": MAX_REPORT_TEXT, "n": len(text)})
        if text and not meaningful(text):
            raise forms.ValidationError(gettext(
                "Please describe it in words (letters or numbers), not only emoji."))
        return text

    def clean_looked_like(self) -> str:
        return self._words("looked_like")

    def clean_what_happened(self) -> str:
        return self._words("what_happened")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.errors and not any(data.get(k) for k in (
                "substance", "signs", "looked_like", "what_happened")):
            raise forms.ValidationError(gettext(
                "The report is empty: say what it looked like, what happened, or tick "
                "what you saw."))
        return data


class AreasForm(forms.Form):
    """Which areas: some, or all. Shared by Web Push (the script) and email."""

    all = forms.BooleanField(label=_("All areas"), required=False)
    areas = forms.ModelMultipleChoiceField(label=_("Areas"), queryset=Area.objects.all(),
                                           required=False, widget=forms.CheckboxSelectMultiple)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.errors and not data.get("all") and not data.get("areas"):
            raise forms.ValidationError(gettext("Choose at least one area, or all areas."))
        return data

    def area_ids(self) -> list[int]:
        if self.cleaned_data.get("all"):
            return []
        return [area.pk for area in self.cleaned_data.get("areas") or []]


class EmailForm(AreasForm):
    email = forms.EmailField(label=_("Your email address"), max_length=254,
                             error_messages={"invalid": _("That is not an email address."),
                                             "required": _("Write your email address.")})


class UnsubscribeForm(forms.Form):
    email = forms.EmailField(label=_("Your email address"), max_length=254,
                             error_messages={"invalid": _("That is not an email address."),
                                             "required": _("Write your email address.")})
