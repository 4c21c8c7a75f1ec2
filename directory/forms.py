from __future__ import annotations

from typing import Any

from django import forms

from accounts.models import STAFF_ROLES, IdentityMethod, Role, User


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
