"""Forms for record requests: the patient's and the clerk's request, and each clerk step.

The forms check formats and say which field a problem belongs to; the rules of 45 CFR
164.524 stay in ``records.services``, whose refusals the views show as they come.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from consent.models import RecordCategory
from messaging.forms import MultipleFileField
from records.models import ArrivedBy, DeliverTo, VerificationMethod
from records.services import RequestSpec

ASKER_SELF = "self"
ASKER_REPRESENTATIVE = "representative"
# Who is asking: a form the patient fills; a proxy's request takes it from their link.
ASKER_FIELDS = ("asker", "representative_name", "representative_authority")
# What a requester writes about the records and the people named is PHI: kept out of
# Django's error reports by ``sensitive_post_parameters``.
SENSITIVE_FIELDS = (
    "details",
    "representative_name",
    "representative_authority",
    "third_party_name",
    "third_party_email",
    "third_party_address",
)


def _date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class RequestForm(forms.Form):
    """What the patient (or their representative) asks for, how, and to whom."""

    categories = forms.MultipleChoiceField(
        label=_("Which records"),
        choices=RecordCategory.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Tick at least one kind of record.")},
    )
    records_from = forms.DateField(
        label=_("Records from (optional)"), required=False, widget=_date_input()
    )
    records_to = forms.DateField(
        label=_("Records up to (optional)"), required=False, widget=_date_input()
    )
    details = forms.CharField(
        label=_("Anything else we should know (optional)"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("For example: “the X-ray report from my knee surgery”."),
    )
    deliver_to = forms.ChoiceField(
        label=_("How you want the copy"),
        choices=DeliverTo.choices,
        initial=DeliverTo.PORTAL,
        widget=forms.RadioSelect,
        help_text=_("A PDF in the portal is free and the quickest."),
    )
    third_party_name = forms.CharField(
        label=_("Send it to (name)"),
        max_length=200,
        required=False,
        help_text=_("Only if you want the copy sent to someone else."),
    )
    third_party_email = forms.EmailField(
        label=_("Their e-mail address"), max_length=254, required=False
    )
    third_party_address = forms.CharField(
        label=_("Their postal address (optional)"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    asker = forms.ChoiceField(
        label=_("Who is asking"),
        choices=[
            (ASKER_SELF, _("I am asking for myself")),
            (ASKER_REPRESENTATIVE, _("I am the patient's personal representative")),
        ],
        initial=ASKER_SELF,
        widget=forms.RadioSelect,
    )
    representative_name = forms.CharField(
        label=_("Representative's full name"), max_length=200, required=False
    )
    representative_authority = forms.CharField(
        label=_("Why the representative may act for the patient"),
        max_length=500,
        required=False,
        help_text=_(
            "For example: “parent of a child under 18” or “health care power of attorney”. "
            "We check the papers before we send anything."
        ),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("records_from"), data.get("records_to")
        if start and end and start > end:
            self.add_error("records_to", gettext("The end date must be after the start date."))
        if data.get("deliver_to") == DeliverTo.THIRD_PARTY:
            # 45 CFR 164.524(c)(3)(ii): the direction names the recipient and where to send.
            if not (data.get("third_party_name") or "").strip():
                self.add_error("third_party_name", gettext("Name the person to send the copy to."))
            if not (data.get("third_party_email") or "").strip():
                self.add_error("third_party_email", gettext("Give their e-mail address."))
        else:
            data["third_party_name"] = data["third_party_email"] = ""
            data["third_party_address"] = ""
        if data.get("asker") == ASKER_REPRESENTATIVE:
            if not (data.get("representative_name") or "").strip():
                self.add_error("representative_name", gettext("Give the representative's name."))
            if not (data.get("representative_authority") or "").strip():
                self.add_error(
                    "representative_authority",
                    gettext("Tell us why the representative may act for the patient."),
                )
        else:
            data["representative_name"] = data["representative_authority"] = ""
        return data

    def spec(self) -> RequestSpec:
        data = self.cleaned_data
        return RequestSpec(
            categories=list(data["categories"]),
            deliver_to=data["deliver_to"],
            records_from=data.get("records_from"),
            records_to=data.get("records_to"),
            details=data.get("details") or "",
            representative_name=data.get("representative_name") or "",
            representative_authority=data.get("representative_authority") or "",
            third_party_name=data.get("third_party_name") or "",
            third_party_email=data.get("third_party_email") or "",
            third_party_address=data.get("third_party_address") or "",
        )


class ClerkRequestForm(RequestForm):
    """A request that came by letter, fax, phone or in person, as the clerk records it."""

    arrived_by = forms.ChoiceField(
        label="It arrived by",
        choices=[(v, label) for v, label in ArrivedBy.choices if v != ArrivedBy.PORTAL],
        widget=forms.RadioSelect,
    )
    received_at = forms.DateTimeField(
        label="Received on",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="When it reached us: this starts the 30-day clock.",
    )
    field_order = ["arrived_by", "received_at"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["received_at"].initial = timezone.localtime().replace(second=0, microsecond=0)
        asker = self.fields["asker"]
        assert isinstance(asker, forms.ChoiceField)
        asker.choices = [
            (ASKER_SELF, "The patient"),
            (ASKER_REPRESENTATIVE, "A personal representative"),
        ]
        self.fields["deliver_to"].label = "Form and format wanted"

    def clean_received_at(self) -> datetime:
        received: datetime = self.cleaned_data["received_at"]
        if received > timezone.now():
            raise forms.ValidationError("The received time cannot be in the future.")
        return received


class StepForm(forms.Form):
    """A form on the request page, which holds several: ``ids`` keeps their ids apart
    (the fee and the denial both have a ``basis``)."""

    ids = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"{self.ids}_%s")
        super().__init__(*args, **kwargs)


class VerifyForm(StepForm):
    """45 CFR 164.514(h): how the requester's identity and authority were checked."""

    ids = "verify"

    method = forms.ChoiceField(
        label="How identity (and authority) were verified",
        choices=VerificationMethod.choices,
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label="Note (optional)",
        max_length=1000,
        required=False,
        help_text="For example, which document was checked. No numbers from it.",
    )


class FeeForm(StepForm):
    """45 CFR 164.524(c)(4): a cost-based estimate, given before fulfilment."""

    ids = "fee"

    amount = forms.DecimalField(
        label="Estimated fee (USD)",
        min_value=Decimal("0"),
        max_value=Decimal("100000"),
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.01"}),
    )
    basis = forms.CharField(
        label="How it is worked out",
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Labour for copying, supplies, postage: no other costs may be charged.",
    )

    def cents(self) -> int:
        return int(self.cleaned_data["amount"] * 100)


class ExtendForm(StepForm):
    """45 CFR 164.524(b)(2)(ii): the reasons and the new date go to the patient in writing."""

    ids = "extend"

    reason = forms.CharField(
        label="Why more time is needed",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The patient reads this in the notice.",
    )
    new_due_day = forms.DateField(label="New due date", widget=_date_input())


class DenyForm(StepForm):
    """45 CFR 164.524(d)(2): the basis goes to the patient in a plain-language letter."""

    ids = "deny"

    basis = forms.CharField(
        label="Basis for the denial",
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="In plain language: the patient reads this in the letter.",
    )
    partial = forms.BooleanField(
        label="Deny only part of the request (the rest is still fulfilled)", required=False
    )
    # Checked by the server, not only the browser: the letter cannot be called back.
    confirm = forms.BooleanField(
        label="I understand the letter goes to the patient now and cannot be taken back",
        error_messages={"required": "Tick the box to confirm before the letter is sent."},
    )


class WithdrawForm(StepForm):
    ids = "withdraw"

    confirm = forms.BooleanField(
        label="I understand the request closes now and cannot be reopened",
        error_messages={"required": "Tick the box to confirm the withdrawal."},
    )


class DocumentTitleForm(forms.Form):
    title = forms.CharField(
        label="Title in the package",
        max_length=200,
        required=False,
    )


class DocumentsForm(StepForm):
    ids = "documents"

    documents = MultipleFileField(
        label="Source documents",
        help_text="PDF, PNG or JPEG; several at once. They go into the package in this order.",
        error_messages={"required": "Choose at least one file."},
    )


class FulfilForm(StepForm):
    ids = "fulfil"

    printed = forms.BooleanField(
        label="I have printed the package and it is ready to hand over or post",
        required=False,
    )
