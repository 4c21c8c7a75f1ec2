"""Forms for the patient's proxies page: inviting a caregiver, stopping one's access.

The words for each scope live here too, so the form's boxes and the list of who can act
for the patient describe a scope the same way. Whether the patient may invite at all,
and whether an address can be a caregiver's, are the service's rules
(``accounts.services.proxies``): the view shows its refusals against these fields.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from accounts.models import ProxyScope

# What a scope lets a proxy do, in a few words (the list of who can act for the patient).
SCOPE_WORDS: dict[str, StrOrPromise] = {
    ProxyScope.READ_MESSAGES: _("Read your messages"),
    ProxyScope.SEND_MESSAGES: _("Send messages for you"),
    ProxyScope.REQUEST_RECORDS: _("Ask for copies of your records"),
    ProxyScope.MANAGE_SHARING: _("Manage who we share your records with"),
    ProxyScope.SEE_ACCOUNTING: _("See whom we shared your records with"),
}
# The same, explained, for the boxes a patient ticks.
SCOPE_CHOICES: list[tuple[str, StrOrPromise]] = [
    (
        ProxyScope.READ_MESSAGES,
        _("Read your messages with your care team, and open what is attached"),
    ),
    (
        ProxyScope.SEND_MESSAGES,
        _("Send messages to your care team for you. Each one shows their name and yours."),
    ),
    (ProxyScope.REQUEST_RECORDS, _("Ask for copies of your records, and download them")),
    (
        ProxyScope.MANAGE_SHARING,
        _("Give or take back your permission to share your records with others"),
    ),
    (ProxyScope.SEE_ACCOUNTING, _("See the list of times we shared your records with others")),
]


def scope_words(scopes: list[str] | frozenset[str]) -> list[StrOrPromise]:
    """The words for ``scopes``, in the order the form lists them."""
    return [SCOPE_WORDS[code] for code, _label in SCOPE_CHOICES if code in scopes]


class CaregiverInviteForm(forms.Form):
    full_name = forms.CharField(
        label=_("Their full name"),
        max_length=200,
        error_messages={"required": _("Type their name.")},
    )
    email = forms.EmailField(
        label=_("Their e-mail address"),
        max_length=254,
        help_text=_(
            "We e-mail them a link to set up their own account. The e-mail says nothing "
            "about your health."
        ),
        error_messages={
            "required": _("Type their e-mail address."),
            "invalid": _("Type an e-mail address like name@example.com."),
        },
    )
    scopes = forms.MultipleChoiceField(
        label=_("What they may do for you"),
        choices=SCOPE_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Tick each thing. They can do nothing else."),
        error_messages={
            "required": _("Tick at least one thing they may do."),
            "invalid_choice": _("Tick only the things listed."),
        },
    )
    ends_on = forms.DateField(
        label=_("Their access ends on (optional)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("It ends at the end of that day. Leave it empty to keep it until you stop it."),
        error_messages={"invalid": _("Type a date like 2027-03-31.")},
    )

    def __init__(self, *args: Any, own_email: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.own_email = own_email.lower()

    def clean_full_name(self) -> str:
        return " ".join(self.cleaned_data["full_name"].split())

    def clean_email(self) -> str:
        email = str(self.cleaned_data["email"]).strip().lower()
        if email == self.own_email:
            raise forms.ValidationError(
                gettext("This is your own e-mail address. Type your caregiver's address.")
            )
        return email

    def clean_ends_on(self) -> date | None:
        ends_on: date | None = self.cleaned_data["ends_on"]
        if ends_on is not None and ends_on < timezone.localdate():
            raise forms.ValidationError(gettext("This date has passed. Choose a later date."))
        return ends_on


class ProxyRevokeForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("Yes, stop their access now"),
        error_messages={"required": _("Tick the box to confirm.")},
    )
