"""Forms for the patient's sharing and preference screens.

The forms check formats only (dates, an e-mail address, a ticked box). Whether an
authorization holds every element 45 CFR 164.508(c)(1) requires is the service's rule
(``consent.services.terms_missing``): the view asks the service and shows what it says
against the fields it names, so the rule lives in one place and a refusal is audited.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from django import forms
from django.conf import settings
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from consent.forms import AuthorizationElementsForm
from messaging.document_passwords import (
    DOCUMENT_PASSWORD_MAX_LENGTH,
    DOCUMENT_PASSWORD_MIN_LENGTH,
)
from messaging.models import DeliveryMethod

SIGNER_PATIENT = "patient"
SIGNER_REPRESENTATIVE = "representative"
# Who signs, in the patient's form; a proxy signs as the representative their link says.
SIGNER_FIELDS = ("signer", "representative_authority")


class AuthorizationForm(AuthorizationElementsForm):
    """Every element of a HIPAA authorization, in the patient's words."""

    labels: ClassVar[Mapping[str, StrOrPromise]] = {
        "categories": _("What may be shared"),
        "records_from": _("Records from (optional)"),
        "records_to": _("Records up to (optional)"),
        "description": _("Describe the information"),
        "recipient_name": _("Name of the person who gets it"),
        "recipient_organization": _("Their organization (optional)"),
        "recipient_email": _("Their e-mail address"),
        "recipient_address": _("Their postal address (optional)"),
        "purposes": _("Why it may be shared"),
        "expires_on": _("This permission ends on"),
        "expiry_event": _("…or when this happens"),
    }
    help_texts: ClassVar[Mapping[str, StrOrPromise]] = {
        "categories": _("Tick each kind of record."),
        "description": _("For example: “blood test results from my 2026 check-up”."),
        "recipient_email": _("We send them a link to pick up the records here."),
        "purposes": _(
            "Tick each reason. “At the request of the patient” is enough if you would "
            "rather not say."
        ),
        "expires_on": _("Give a date, an event, or both. It ends at whichever comes first."),
        "expiry_event": _("For example: “when my insurance claim is settled”."),
    }

    discloser = forms.CharField(
        label=_("Who may share it"),
        required=False,
        widget=forms.TextInput(attrs={"readonly": True}),
        help_text=_("Only we can share your records through this portal."),
    )
    purpose_detail = forms.CharField(
        label=_("Describe the other reason"),
        max_length=1000,
        required=False,
        help_text=_("Needed when you tick “Other”."),
    )
    signer = forms.ChoiceField(
        label=_("Who is signing"),
        choices=[
            (SIGNER_PATIENT, _("I am the patient")),
            (SIGNER_REPRESENTATIVE, _("I am the patient's personal representative")),
        ],
        widget=forms.RadioSelect,
        initial=SIGNER_PATIENT,
    )
    representative_authority = forms.CharField(
        label=_("Why you may act for the patient"),
        max_length=500,
        required=False,
        help_text=_(
            "Needed if you are the personal representative. For example: "
            "“parent of a child under 18” or “health care power of attorney”."
        ),
    )
    signer_name = forms.CharField(
        label=_("Type your full name as your signature"), max_length=200, required=False
    )
    agree = forms.BooleanField(
        label=_("I have read the statements above and I sign this authorization"),
        error_messages={"required": _("Tick the box to sign.")},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["recipient_address"].widget.attrs["rows"] = 3

    def clean_discloser(self) -> str:
        return settings.ORGANISATION_NAME  # read-only: whatever was posted, it is us

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("signer") == SIGNER_REPRESENTATIVE:
            if not (data.get("representative_authority") or "").strip():
                self.add_error(
                    "representative_authority",
                    gettext("Tell us why you may act for the patient."),
                )
        else:
            data["representative_authority"] = ""
        return data

    def refused(self, message: str) -> None:
        """The service said no: its message on top, each missing element at its field."""
        self.add_error(None, message)
        self.missing_note()


class RevokeForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("Yes, stop this authorization from now on"),
        error_messages={"required": _("Tick the box to confirm.")},
    )


class PreferencesForm(forms.Form):
    postal_only = forms.BooleanField(
        label=_("Send me letters by post instead of e-mails"),
        required=False,
        help_text=_(
            "We will not e-mail you about new messages. A letter tells you one is waiting."
        ),
    )
    postal_address = forms.CharField(
        label=_("Postal address for letters"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Needed for letters by post."),
    )


class WaiverForm(forms.Form):
    statement_id = forms.IntegerField(widget=forms.HiddenInput)
    understood = forms.BooleanField(
        label=_("I have read the risk statement and still want ordinary e-mail"),
        error_messages={"required": _("Tick the box to choose ordinary e-mail.")},
    )


class DeliveryMethodForm(forms.Form):
    """The patient's way of receiving messages, among the methods the clinic offers."""

    method = forms.ChoiceField(
        label=_("How we send you messages"),
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choose one of the ways listed."),
            "invalid_choice": _("Choose one of the ways listed."),
        },
    )

    def __init__(self, *args: Any, methods: Sequence[DeliveryMethod], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["method"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(m.value, m.label) for m in methods]


class DocumentPasswordForm(forms.Form):
    """A new document password, typed twice. Whether it is the sign-in password is the
    service's rule (``messaging.document_passwords``): the view shows its refusal here."""

    password1 = forms.CharField(
        label=_("New document password"),
        strip=False,
        min_length=DOCUMENT_PASSWORD_MIN_LENGTH,
        max_length=DOCUMENT_PASSWORD_MAX_LENGTH,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("Use at least 12 characters. Do not use your sign-in password."),
        error_messages={
            "required": _("Type a password."),
            "min_length": _("Use at least 12 characters."),
            "max_length": _("Use at most 128 characters."),
        },
    )
    password2 = forms.CharField(
        label=_("The same password again"),
        strip=False,
        max_length=DOCUMENT_PASSWORD_MAX_LENGTH,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        error_messages={"required": _("Type the password again.")},
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, second = data.get("password1"), data.get("password2")
        if first and second and first != second:
            self.add_error("password2", gettext("The two passwords are not the same."))
        return data
