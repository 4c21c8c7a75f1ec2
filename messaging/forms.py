from __future__ import annotations

import uuid
from datetime import datetime, time
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from core.forms import FixedChoicesCheckboxes
from messaging.models import Category, ContentCategory, MessageTemplate

BODY_MAX = 50_000


class PatientSearchForm(forms.Form):
    """The patient search of every staff screen that starts from a patient
    (templates/components/patient_search.html shows it and its results)."""

    q = forms.CharField(
        label="Find a patient",
        max_length=100,
        help_text="Name, MRN, or date of birth as YYYY-MM-DD.",
    )

    def results_for(self, user: User) -> list[User] | None:
        """The patients ``user`` may see that match (None before a valid search); audited."""
        if not self.is_valid():
            return None
        from messaging import selectors, services

        results = selectors.patient_search(user=user, query=self.cleaned_data["q"])
        services.patient_search_record(results=len(results))
        return results


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files; each is checked by ``encryption.uploads.attachment_check`` in the view,
    which knows the limits and the sniffed type, so none is judged here."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> Any:
        if isinstance(data, list | tuple):
            return list(data)
        return [data] if data else []


class _BodyForm(forms.Form):
    send_key = forms.UUIDField(widget=forms.HiddenInput)
    body = forms.CharField(
        label=_("Message"),
        max_length=BODY_MAX,
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text=_(
            "Write in plain text. You can use **bold**, *italic*, lists and https:// links."
        ),
    )
    attachments = MultipleFileField(
        label=_("Attachments"),
        required=False,
        help_text=_("PDF, PNG, JPEG or plain text."),
    )

    def clean_body(self) -> str:
        body = self.cleaned_data["body"].replace("\x00", "")
        if not body.strip():
            raise forms.ValidationError(gettext("Write a message."))
        return body


def sensitive_field() -> forms.MultipleChoiceField:
    """What the sender marks the content as (``ContentCategory``): the delivery decision
    keeps the kinds the organisation restricts off every e-mail method."""
    return forms.MultipleChoiceField(
        label="Sensitive content (optional)",
        choices=ContentCategory.choices,
        required=False,
        widget=FixedChoicesCheckboxes,
        help_text="Tick each kind it contains. A kind the organisation keeps off e-mail "
        "goes by portal pickup, whatever the recipient chose.",
    )


def sensitive_marked(form: forms.Form) -> list[str]:
    """The kinds ticked so far, valid or not yet validated (what the composer shows the
    decision for): unknown codes dropped."""
    return [c for c in form["sensitive"].value() or [] if c in ContentCategory.values]


class ComposeForm(_BodyForm):
    """A new thread. The subject is checked for identifiers before send (``dlp``)."""

    subject = forms.CharField(label="Subject", max_length=200)
    category = forms.ChoiceField(label="Kind of message", choices=Category.choices)
    expires_on = forms.DateField(
        label="Hide from the patient after (optional)",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    sensitive = sensitive_field()
    acknowledge = forms.BooleanField(
        label="I have checked the subject and want to send it as it is.", required=False
    )
    field_order = [
        "send_key",
        "subject",
        "category",
        "body",
        "attachments",
        "sensitive",
        "expires_on",
    ]

    def acknowledgement_offer(self, *, warned: bool) -> None:
        acknowledgement_offer(self, warned=warned)

    def clean_subject(self) -> str:
        subject = " ".join(self.cleaned_data["subject"].replace("\x00", "").split())
        if not subject:
            raise forms.ValidationError("Write a subject.")
        return subject

    def clean_expires_on(self) -> Any:
        day = self.cleaned_data.get("expires_on")
        if day is not None and day <= timezone.localdate():
            raise forms.ValidationError("Choose a date after today.")
        return day

    def expires_at(self) -> datetime | None:
        day = self.cleaned_data.get("expires_on")
        if day is None:
            return None
        return timezone.make_aware(datetime.combine(day, time.min))


def acknowledgement_offer(form: forms.Form, *, warned: bool) -> None:
    """Call after validation, before the form is shown: the "send the subject as it is" box
    is offered only once the server has warned about this subject, so a plain subject never
    asks for it (the service refuses a risky subject without it either way)."""
    if not warned:
        form.fields.pop("acknowledge", None)


class ReplyForm(_BodyForm):
    pass


class StaffReplyForm(ReplyForm):
    """A staff reply: it may hold sensitive content the policy keeps off e-mail."""

    sensitive = sensitive_field()


def new_send_key() -> uuid.UUID:
    return uuid.uuid4()


class TemplateForm(forms.ModelForm):
    class Meta:
        model = MessageTemplate
        fields = ["title", "subject", "body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 10})}


class ResendForm(forms.Form):
    new_email = forms.EmailField(
        label="Corrected e-mail address",
        help_text="The patient must confirm it from that mailbox before the notice goes there.",
    )


class GuestPackageForm(_BodyForm):
    """A package for a third party. The fields mirror what an authorization covers; the
    disclosure decision, not this form, decides whether it may go."""

    recipient_email = forms.EmailField(
        label="Recipient's e-mail address",
        help_text="As written in the patient's authorization.",
        widget=forms.EmailInput(attrs={"list": "authorized-recipients", "autocomplete": "off"}),
    )
    recipient_name = forms.CharField(label="Recipient's name", max_length=200)
    purpose = forms.ChoiceField(label="Purpose of the disclosure")
    categories = forms.MultipleChoiceField(
        label="What the package contains",
        widget=forms.CheckboxSelectMultiple,
    )
    records_from = forms.DateField(
        label="Records dated from (optional)",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    records_to = forms.DateField(
        label="Records dated until (optional)",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    subject = forms.CharField(
        label="Subject",
        max_length=200,
        help_text="The recipient sees it only after entering their code; the e-mail never "
        "contains it.",
    )
    sensitive = sensitive_field()
    acknowledge = forms.BooleanField(
        label="I have checked the subject and want to send it as it is.", required=False
    )
    field_order = [
        "send_key",
        "recipient_email",
        "recipient_name",
        "purpose",
        "categories",
        "records_from",
        "records_to",
        "subject",
        "body",
        "attachments",
        "sensitive",
        "acknowledge",
    ]

    def acknowledgement_offer(self, *, warned: bool) -> None:
        acknowledgement_offer(self, warned=warned)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from consent.models import Purpose, RecordCategory

        super().__init__(*args, **kwargs)
        purpose = self.fields["purpose"]
        categories = self.fields["categories"]
        assert isinstance(purpose, forms.ChoiceField)
        assert isinstance(categories, forms.MultipleChoiceField)
        purpose.choices = Purpose.choices
        categories.choices = RecordCategory.choices
        self.fields["body"].required = False
        self.fields[
            "body"
        ].help_text = (
            "Optional. Plain text; **bold**, *italic*, lists and https:// links are formatted."
        )

    def clean_body(self) -> str:
        return str(self.cleaned_data.get("body") or "").replace("\x00", "")

    def clean_subject(self) -> str:
        subject = " ".join(self.cleaned_data["subject"].replace("\x00", "").split())
        if not subject:
            raise forms.ValidationError("Write a subject.")
        return subject

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("records_from"), cleaned.get("records_to")
        if start and end and start > end:
            self.add_error("records_to", "Choose an end date on or after the start date.")
        return cleaned


class GuestCodeForm(forms.Form):
    code = forms.CharField(
        label="One-time code",
        max_length=12,
        help_text="6 digits, from the e-mail we sent you.",
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "size": "8"}
        ),
    )

    def clean_code(self) -> str:
        code = "".join(self.cleaned_data["code"].split())  # "123 456" as some mail shows it
        if len(code) != 6 or not code.isascii() or not code.isdigit():
            raise forms.ValidationError("Enter the 6 digits from the e-mail.")
        return code


class DeliveryPolicyForm(forms.Form):
    """The privacy officer's delivery policy. Portal pickup is always on: no switch."""

    tls_email = forms.BooleanField(
        label="TLS-verified e-mail",
        required=False,
        help_text="Content goes to the recipient's mail server only over verified TLS.",
    )
    protected_pdf = forms.BooleanField(
        label="Password-protected PDF by e-mail",
        required=False,
        help_text="One AES-256 encrypted PDF; the password travels another way.",
    )
    plain_email = forms.BooleanField(
        label="Ordinary e-mail under a waiver",
        required=False,
        help_text="Only to the patient, at their confirmed address, while their waiver is "
        "in force.",
    )
    email_max_mib = forms.IntegerField(
        label="Largest content sent by e-mail (MiB)",
        min_value=1,
        max_value=50,
        help_text="Anything larger goes by portal pickup. 1 to 50 MiB.",
    )
    restricted_categories = forms.MultipleChoiceField(
        label="Never by e-mail",
        required=False,
        choices=ContentCategory.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="Content of these kinds always goes by portal pickup.",
    )
    third_party_tls = forms.BooleanField(
        label="Third parties may receive TLS-verified e-mail",
        required=False,
        help_text="Otherwise a third party always gets a pickup link.",
    )
