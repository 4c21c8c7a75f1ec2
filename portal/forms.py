"""Forms for the patient's sharing and preference screens.

The forms check formats only (dates, an e-mail address, a ticked box). Whether an
authorization holds every element 45 CFR 164.508(c)(1) requires is the service's rule
(``consent.services.terms_missing``): the view asks the service and shows what it says
against the fields it names, so the rule lives in one place and a refusal is audited.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings

from consent.models import Purpose, RecordCategory
from consent.services import Terms, terms_missing

SIGNER_PATIENT = "patient"
SIGNER_REPRESENTATIVE = "representative"

# Which field each element named by ``terms_missing`` belongs to.
ELEMENT_FIELDS = {
    "information": "categories",
    "description": "description",
    "information_dates": "records_to",
    "recipient": "recipient_name",
    "recipient_email": "recipient_email",
    "purpose": "purposes",
    "expiration": "expires_on",
    "signature": "signer_name",
}


def _date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class AuthorizationForm(forms.Form):
    """Every element of a HIPAA authorization, in the patient's words."""

    categories = forms.MultipleChoiceField(
        label="What may be shared",
        choices=RecordCategory.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Tick each kind of record.",
    )
    records_from = forms.DateField(
        label="Records from (optional)", required=False, widget=_date_input()
    )
    records_to = forms.DateField(
        label="Records up to (optional)", required=False, widget=_date_input()
    )
    description = forms.CharField(
        label="Describe the information",
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="For example: “blood test results from my 2026 check-up”.",
    )
    discloser = forms.CharField(
        label="Who may share it",
        required=False,
        widget=forms.TextInput(attrs={"readonly": True}),
        help_text="Only we can share your records through this portal.",
    )
    recipient_name = forms.CharField(label="Recipient's name", max_length=200, required=False)
    recipient_organization = forms.CharField(
        label="Recipient's organisation (optional)", max_length=200, required=False
    )
    recipient_email = forms.EmailField(
        label="Recipient's e-mail address",
        max_length=254,
        required=False,
        help_text="We send the recipient a link to pick the records up here.",
    )
    recipient_address = forms.CharField(
        label="Recipient's postal address (optional)",
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    purposes = forms.MultipleChoiceField(
        label="Why it may be shared",
        choices=Purpose.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Tick each purpose. “At the request of the patient” is enough if you "
        "would rather not say.",
    )
    purpose_detail = forms.CharField(
        label="Describe the other purpose",
        max_length=1000,
        required=False,
        help_text="Needed when you tick “Other”.",
    )
    expires_on = forms.DateField(
        label="This authorization ends on",
        required=False,
        widget=_date_input(),
        help_text="Give a date, an event, or both: it ends at whichever comes first.",
    )
    expiry_event = forms.CharField(
        label="…or when this happens",
        max_length=500,
        required=False,
        help_text="For example: “when my insurance claim is settled”.",
    )
    signer = forms.ChoiceField(
        label="Who is signing",
        choices=[
            (SIGNER_PATIENT, "I am the patient"),
            (SIGNER_REPRESENTATIVE, "I am the patient's personal representative"),
        ],
        widget=forms.RadioSelect,
        initial=SIGNER_PATIENT,
    )
    representative_authority = forms.CharField(
        label="Your authority to act for the patient",
        max_length=500,
        required=False,
        help_text="Needed if you are the personal representative, for example: "
        "“parent of a minor” or “health care power of attorney”.",
    )
    signer_name = forms.CharField(
        label="Type your full name as your signature", max_length=200, required=False
    )
    agree = forms.BooleanField(
        label="I have read the statements above and sign this authorization",
        error_messages={"required": "Tick the box to sign."},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["discloser"].initial = settings.ORGANISATION_NAME

    def clean_discloser(self) -> str:
        return settings.ORGANISATION_NAME  # read-only: whatever was posted, it is us

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("signer") == SIGNER_REPRESENTATIVE:
            if not (data.get("representative_authority") or "").strip():
                self.add_error(
                    "representative_authority",
                    "Describe your authority to act for the patient.",
                )
        else:
            data["representative_authority"] = ""
        return data

    def terms(self) -> Terms:
        data = self.cleaned_data
        return Terms(
            categories=data.get("categories") or [],
            description=data.get("description", ""),
            records_from=data.get("records_from"),
            records_to=data.get("records_to"),
            discloser=data.get("discloser", ""),
            recipient_name=data.get("recipient_name", ""),
            recipient_organization=data.get("recipient_organization", ""),
            recipient_email=data.get("recipient_email", ""),
            recipient_address=data.get("recipient_address", ""),
            purposes=data.get("purposes") or [],
            purpose_detail=data.get("purpose_detail", ""),
            expires_on=data.get("expires_on"),
            expiry_event=data.get("expiry_event", ""),
            signer_name=data.get("signer_name", ""),
            representative_authority=data.get("representative_authority", ""),
        )

    def refused(self, message: str) -> None:
        """The service said no: its message on top, each missing element at its field."""
        self.add_error(None, message)
        self.missing_note()

    def missing_note(self) -> None:
        """Name each missing element at its field (one submission shows all there is to
        fix, also when the form failed for another reason). A field already in error,
        such as a malformed e-mail address, keeps its own message."""
        for code, text in terms_missing(self.terms()):
            name = ELEMENT_FIELDS.get(code)
            if name is not None and name not in self.errors:
                self.add_error(name, f"Missing: {text}.")


class RevokeForm(forms.Form):
    confirm = forms.BooleanField(
        label="Yes, stop this authorization from now on",
        error_messages={"required": "Tick the box to confirm."},
    )


class PreferencesForm(forms.Form):
    postal_only = forms.BooleanField(
        label="Send me letters by post instead of e-mail notices",
        required=False,
        help_text="We will not e-mail you about new messages; a letter says one is waiting.",
    )
    postal_address = forms.CharField(
        label="Postal address for letters",
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Needed for letters by post.",
    )


class WaiverForm(forms.Form):
    statement_id = forms.IntegerField(widget=forms.HiddenInput)
    understood = forms.BooleanField(
        label="I have read the risk statement and still want ordinary e-mail",
        error_messages={"required": "Tick the box to choose ordinary e-mail."},
    )
