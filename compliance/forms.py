from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.utils import timezone

from compliance.models import POLICY_TEXT_LIMIT, PolicyKind

SCAN_HELP = (
    "PDF, PNG or JPEG. It is stored encrypted. If this form comes back with an error, "
    "choose the file again: it is not kept until the form is complete."
)


def _date() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class PublishForm(forms.Form):
    kind = forms.ChoiceField(
        label="Policy",
        choices=PolicyKind.choices,
        help_text="Publishing replaces the current version of this policy: every member of "
        "staff, you included, must acknowledge the new one before using the portal again.",
    )
    title = forms.CharField(label="Title", max_length=200)
    text = forms.CharField(
        label="Text of the policy",
        max_length=POLICY_TEXT_LIMIT,
        widget=forms.Textarea(attrs={"rows": 16}),
        help_text="Plain text; blank lines separate paragraphs. Never patient information.",
    )


class AcknowledgeForm(forms.Form):
    document = forms.IntegerField(widget=forms.HiddenInput)
    understood = forms.BooleanField(
        label="I have read and understood this policy",
        error_messages={"required": "Tick the box to say you have read and understood it."},
    )


class AgreementForm(forms.Form):
    """The signed agreement: dates and the scan (checked by the view, as every upload)."""

    signed_on = forms.DateField(label="Agreement signed on", widget=_date())
    renewal_on = forms.DateField(
        label="Renewal date",
        widget=_date(),
        help_text="The privacy officers are e-mailed 30 days before.",
    )
    scan = forms.FileField(
        label="Scan of the signed agreement", required=False, help_text=SCAN_HELP
    )

    def clean_signed_on(self) -> date:
        signed_on: date = self.cleaned_data["signed_on"]
        if signed_on > timezone.localdate():
            raise forms.ValidationError("The signing date cannot be in the future.")
        return signed_on

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        signed_on, renewal_on = data.get("signed_on"), data.get("renewal_on")
        if signed_on and renewal_on and renewal_on <= signed_on:
            self.add_error("renewal_on", "The renewal date must come after the signing date.")
        return data


class AssociateForm(AgreementForm):
    name = forms.CharField(label="Name of the business associate", max_length=200)
    service = forms.CharField(
        label="Service it provides",
        max_length=500,
        help_text="What it does with the organisation's health information, e.g. "
        "“cloud hosting of the portal's encrypted backups”.",
    )
    field_order = ("name", "service", "signed_on", "renewal_on", "scan")


class EndForm(forms.Form):
    ended_on = forms.DateField(label="Agreement ended on", widget=_date())
    confirm = forms.BooleanField(
        label="Yes, the organisation no longer uses this business associate",
        error_messages={"required": "Tick the box to confirm."},
    )
