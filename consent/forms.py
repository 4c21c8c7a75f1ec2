"""Forms for the staff consent screens.

The authorization form leaves the core elements optional as fields: whether one is
missing is ``consent.services.terms_missing``'s rule (45 CFR 164.508(b)(2)), and the
form puts each of its findings on the field it concerns, so the person sees the element
named next to where it goes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any, ClassVar

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext
from django_stubs_ext import StrOrPromise

from consent import services
from consent.models import (
    LEGAL_BASIS_CITATIONS,
    Authorization,
    LegalBasis,
    Purpose,
    RecordCategory,
    SuspensionBasis,
)
from consent.selectors import AUTHORIZATION_STATES

# terms_missing codes -> the field that gives the element.
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
SCAN_HELP = (
    "PDF, PNG or JPEG. If this form comes back with an error, choose the file again: "
    "for your patient's privacy it is not kept until the form is complete."
)


def _date(**attrs: Any) -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date", **attrs}, format="%Y-%m-%d")


class AuthorizationElementsForm(forms.Form):
    """The elements of 164.508(c)(1) that the staff's paper form and the patient's
    portal form share, worded as the paper form gives them.

    A form for another audience rewords fields through ``labels`` and ``help_texts``
    (as a ModelForm's Meta does). Each form adds its own signature block, declaring at
    least ``signer_name`` and ``representative_authority``.
    """

    labels: ClassVar[Mapping[str, StrOrPromise]] = {}
    help_texts: ClassVar[Mapping[str, StrOrPromise]] = {}

    categories = forms.MultipleChoiceField(
        label="Information to be disclosed: kinds of record",
        choices=RecordCategory.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    records_from = forms.DateField(
        label="Records dated from (optional)", required=False, widget=_date()
    )
    records_to = forms.DateField(
        label="Records dated to (optional)", required=False, widget=_date()
    )
    description = forms.CharField(
        label="Specific description of the information",
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    discloser = forms.CharField(
        label="Who may disclose it",
        max_length=200,
        required=False,
        help_text="Left empty, the organisation's name is used.",
    )
    recipient_name = forms.CharField(label="Recipient's name", max_length=200, required=False)
    recipient_organization = forms.CharField(
        label="Recipient's organisation (optional)", max_length=200, required=False
    )
    recipient_email = forms.EmailField(
        label="Recipient's e-mail address",
        max_length=254,
        required=False,
        help_text="Packages for this recipient go only to this address.",
    )
    recipient_address = forms.CharField(
        label="Recipient's postal address (optional)",
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    purposes = forms.MultipleChoiceField(
        label="Purpose of each disclosure",
        choices=Purpose.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    purpose_detail = forms.CharField(
        label="Purpose in the signer's words (required for “other”)",
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    expires_on = forms.DateField(
        label="Expires at the end of (date)",
        required=False,
        widget=_date(),
        help_text="Give a date, an event, or both: whichever comes first ends it.",
    )
    expiry_event = forms.CharField(label="Expires on this event", max_length=500, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, label in self.labels.items():
            self.fields[name].label = label
        for name, help_text in self.help_texts.items():
            self.fields[name].help_text = help_text
        self.fields["discloser"].initial = settings.ORGANISATION_NAME

    def terms(self) -> services.Terms:
        data = self.cleaned_data
        return services.Terms(
            categories=data.get("categories") or [],
            description=data.get("description", ""),
            discloser=data.get("discloser", ""),
            records_from=data.get("records_from"),
            records_to=data.get("records_to"),
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

    def missing_note(self) -> None:
        """Name each element ``services.terms_missing`` finds missing at its field, so
        one submission shows all there is to fix. A field already in error, such as a
        malformed date or e-mail address, keeps its own message."""
        for code, text in services.terms_missing(self.terms()):
            name = ELEMENT_FIELDS.get(code)
            if name is not None and name not in self.errors:
                self.add_error(name, gettext("Missing: %(element)s.") % {"element": text})


class AuthorizationForm(AuthorizationElementsForm):
    """Every element of 164.508(c)(1) as a signed paper form gives it."""

    signer_name = forms.CharField(label="Signed by (full name)", max_length=200, required=False)
    signed_by_representative = forms.BooleanField(
        label="Signed by a personal representative", required=False
    )
    representative_authority = forms.CharField(
        label="The representative's authority to act for the patient",
        max_length=500,
        required=False,
        help_text="For example: parent of a minor, or health care power of attorney.",
    )
    signed_on = forms.DateField(
        label="Date of signature",
        widget=_date(),
        error_messages={"required": "Missing: the date of signature."},
    )
    scan = forms.FileField(label="Scan of the signed form", required=False, help_text=SCAN_HELP)

    def __init__(self, *args: Any, scan_required: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scan_required = scan_required
        if not scan_required:
            self.fields["scan"].label = "New scan (optional: the current one is kept otherwise)"

    def clean_signed_on(self) -> date:
        signed_on: date = self.cleaned_data["signed_on"]
        if signed_on > timezone.localdate():
            raise forms.ValidationError("The signature date cannot be in the future.")
        return signed_on

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        representative = cleaned.get("signed_by_representative")
        authority = (cleaned.get("representative_authority") or "").strip()
        if representative and not authority:
            # 164.508(c)(1)(vi): a representative's signature comes with their authority.
            self.add_error(
                "representative_authority",
                "Missing: the personal representative's authority to act for the patient.",
            )
        elif authority and not representative:
            self.add_error(
                "signed_by_representative",
                "Tick this box if a personal representative signed, or clear the authority.",
            )
        self.missing_note()
        return cleaned


def authorization_initial(auth: Authorization) -> dict[str, Any]:
    """The form's values for a correction: what the current version says."""
    expires_on = None
    if auth.expires_at is not None:  # stored as the end of that day: the next local midnight
        expires_on = timezone.localtime(auth.expires_at).date() - timedelta(days=1)
    return {
        "categories": list(auth.categories),
        "records_from": auth.records_from,
        "records_to": auth.records_to,
        "description": auth.description,
        "discloser": auth.discloser,
        "recipient_name": auth.recipient_name,
        "recipient_organization": auth.recipient_organization,
        "recipient_email": auth.recipient_email,
        "recipient_address": auth.recipient_address,
        "purposes": list(auth.purposes),
        "purpose_detail": auth.purpose_detail,
        "expires_on": expires_on,
        "expiry_event": auth.expiry_event,
        "signer_name": auth.signer_name,
        "signed_by_representative": auth.signed_by_representative,
        "representative_authority": auth.representative_authority,
        "signed_on": timezone.localtime(auth.signed_at).date(),
    }


class RevokeForm(forms.Form):
    written_request = forms.BooleanField(
        label="I have the patient's signed, written request to revoke this authorization.",
        error_messages={"required": "A revocation recorded by staff needs the written request."},
    )


class AuthorizationSearchForm(forms.Form):
    """The officer's recipient search: posted, so the name never sits in a URL."""

    q = forms.CharField(
        label="Recipient name, organisation or e-mail", max_length=200, required=False
    )
    state = forms.ChoiceField(
        label="Show",
        choices=[(s, s.capitalize()) for s in AUTHORIZATION_STATES],
        required=False,
    )
    page = forms.IntegerField(min_value=1, required=False, widget=forms.HiddenInput)


class WaiverStatementForm(forms.Form):
    text = forms.CharField(
        label="New wording of the risk statement",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="Published versions never change; patients accept the newest one.",
    )


class WaiverRecordForm(forms.Form):
    """Staff record a paper waiver (the patient signed the current statement) or its
    revocation."""

    action = forms.ChoiceField(choices=[("accept", "accept"), ("revoke", "revoke")])
    statement_version = forms.IntegerField(min_value=1, required=False)
    signed_statement = forms.BooleanField(required=False)


def _basis_choices() -> list[tuple[str, str]]:
    return [
        (basis.value, f"{basis.label} ({LEGAL_BASIS_CITATIONS[basis]})") for basis in LegalBasis
    ]


class OutsideDisclosureForm(forms.Form):
    """A disclosure made outside the portal under 45 CFR 164.512, with the elements of
    164.528(b)(2). The rules (dates, suspension) are ``services.outside_disclosure_refusal``'s;
    the form puts its finding on top."""

    legal_basis = forms.ChoiceField(
        label="Purpose under 45 CFR 164.512",
        choices=_basis_choices,
        widget=forms.RadioSelect,
    )
    disclosed_on = forms.DateField(label="Date of the disclosure", widget=_date())
    recipient_name = forms.CharField(
        label="Recipient: name of the person or organisation", max_length=400
    )
    recipient_address = forms.CharField(
        label="Recipient's address, if known",
        max_length=800,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    description = forms.CharField(
        label="Brief description of the information disclosed",
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    categories = forms.MultipleChoiceField(
        label="Kinds of record (optional)",
        choices=RecordCategory.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    purpose_statement = forms.CharField(
        label="Brief statement of the purpose",
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=(
            "What the patient will read as the reason, for example “Report of a notifiable "
            "disease to the county health department”. You may summarise the written request."
        ),
    )
    suspended_until = forms.DateField(
        label="Suspend the patient's accounting of this disclosure until (optional)",
        required=False,
        widget=_date(),
        help_text=(
            "Only when a health oversight agency or a law enforcement official asks. The "
            "patient does not see this entry before that day; staff see it, marked."
        ),
    )
    suspension_basis = forms.ChoiceField(
        label="The agency's or official's statement was",
        choices=[("", "No suspension"), *SuspensionBasis.choices],
        required=False,
        widget=forms.RadioSelect,
    )
    not_exempt = forms.BooleanField(
        label="I have checked that this disclosure is none of the kinds not accounted for.",
        error_messages={"required": "Confirm that the disclosure is not one of the exempt kinds."},
    )

    def entry(self) -> services.OutsideDisclosure:
        data = self.cleaned_data
        return services.OutsideDisclosure(
            disclosed_on=data["disclosed_on"],
            legal_basis=data["legal_basis"],
            recipient_name=data["recipient_name"],
            recipient_address=data.get("recipient_address") or "",
            description=data["description"],
            purpose_statement=data["purpose_statement"],
            categories=list(data.get("categories") or []),
            suspended_until=data.get("suspended_until"),
            suspension_basis=data.get("suspension_basis") or "",
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not self.errors:
            refusal = services.outside_disclosure_refusal(self.entry())
            if refusal:
                raise forms.ValidationError(refusal)
        return cleaned
