from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone

from accounts.models import (
    REPRESENTATIVE_KINDS,
    STAFF_ROLES,
    EvidenceKind,
    IdentityMethod,
    ProxyKind,
    ProxyScope,
    Role,
    User,
)


class IdentityCheckForm(forms.Form):
    """How staff verified who the person is, before a recovery (45 CFR 164.514(h))."""

    identity_method = forms.ChoiceField(
        label="How you verified their identity", choices=IdentityMethod.choices
    )
    confirm = forms.BooleanField(
        label="I have verified this person's identity as stated above.", required=True
    )


class CareTeamAddForm(forms.Form):
    clinician = forms.TypedChoiceField(label="Add a clinician", coerce=int)

    def __init__(self, *args: Any, clinicians: list[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["clinician"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [(c.pk, c.full_name) for c in clinicians]


class RoleForm(forms.Form):
    role = forms.ChoiceField(
        label="Role", choices=[(r.value, r.label) for r in Role if r in STAFF_ROLES]
    )


def _date() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


EVIDENCE_HELP = (
    "PDF, PNG or JPEG. If this form comes back with an error, choose the file again: "
    "for the patient's privacy it is not kept until the form is complete."
)


class RepresentativeForm(forms.Form):
    """A personal representative (45 CFR 164.502(g)) recorded by staff who checked the
    person's identity and the document of their authority. The rules about the link
    (a scope, the dates, a parent's child under age) are the service's: its refusals land
    on the field they concern."""

    full_name = forms.CharField(
        label="The proxy's full name",
        max_length=200,
        error_messages={"required": "Missing: the proxy's full name."},
    )
    email = forms.EmailField(
        label="The proxy's e-mail address",
        max_length=254,
        error_messages={"required": "Missing: the proxy's own e-mail address."},
        help_text="Their own address: the invitation to set a password goes there. An "
        "address that already has a proxy account links that account.",
    )
    kind = forms.ChoiceField(
        label="Authority",
        choices=[("", "Choose…")]
        + [(k.value, k.label) for k in ProxyKind if k in REPRESENTATIVE_KINDS],
        error_messages={"required": "Choose the authority the proxy acts under."},
    )
    scopes = forms.MultipleChoiceField(
        label="What the proxy may do",
        choices=ProxyScope.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,  # "choose at least one" is the service's rule, said on this field
        help_text="Each is granted separately. A parent's is narrowed by the child's age.",
    )
    starts_on = forms.DateField(label="From", widget=_date())
    ends_on = forms.DateField(
        label="Until (optional)",
        widget=_date(),
        required=False,
        help_text="The last day the link works. Empty: until it is ended.",
    )
    identity_method = forms.ChoiceField(
        label="How you verified the proxy's identity", choices=IdentityMethod.choices
    )
    evidence_kind = forms.ChoiceField(
        label="The document of authority", choices=EvidenceKind.choices
    )
    evidence = forms.FileField(
        label="Scan of the document", required=False, help_text=EVIDENCE_HELP
    )
    confirm = forms.BooleanField(
        label="I have verified this person's identity and their authority to act for the "
        "patient, as stated above.",
        error_messages={"required": "Tick the box to confirm you verified both."},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"starts_on": timezone.localdate()})
        super().__init__(*args, **kwargs)


# Where each refusal of ``representative_invite`` is said on the form.
REPRESENTATIVE_ERROR_FIELDS = {
    "no_scope": "scopes",
    "dates": "ends_on",
    "email_other_account": "email",
    "not_proxy": "email",
    "already_linked": "email",
    "kind": "kind",
    "not_minor": "kind",
}


class SuspendForm(forms.Form):
    """The privacy officer stops a link at once (45 CFR 164.502(g)(5))."""

    reason = forms.CharField(
        label="Reason",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Kept encrypted with the link; shown to the privacy officer only.",
        error_messages={"required": "Give the reason for the suspension."},
    )
    confirm = forms.BooleanField(
        label="Suspend this link now: the proxy loses access at their next click.",
        error_messages={"required": "Tick the box to confirm."},
    )
