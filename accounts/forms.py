from __future__ import annotations

import re
from datetime import date
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import password_validation
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import STAFF_ROLES, IdentityMethod, Role, User


class SignInForm(forms.Form):
    username = forms.EmailField(
        label=_("E-mail"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "username"}),
    )
    password = forms.CharField(
        label=_("Password"),
        max_length=4096,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class CodeForm(forms.Form):
    """A TOTP code (6 digits) or a backup code (10 letters and digits, "abcde-23456")."""

    code = forms.CharField(
        label=_("Code"),
        max_length=16,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True}
        ),
    )

    def clean_code(self) -> str:
        code = re.sub(r"[\s-]", "", self.cleaned_data["code"]).lower()
        # 8 characters: backup codes issued before they were stored as keyed hashes.
        if not re.fullmatch(r"[0-9]{6}|[a-z0-9]{8}|[a-z0-9]{10}", code):
            raise forms.ValidationError(
                gettext("Enter the 6-digit code or a 10-character backup code.")
            )
        return code


class TOTPConfirmForm(forms.Form):
    code = forms.CharField(
        label=_("6-digit code from your app"),
        max_length=6,
        min_length=6,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def clean_code(self) -> str:
        code: str = self.cleaned_data["code"].strip()
        if not code.isdigit():
            raise forms.ValidationError(gettext("The code is 6 digits."))
        return code


class PasswordResetForm(forms.Form):
    email = forms.EmailField(
        label=_("Your e-mail address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


class NewPasswordForm(forms.Form):
    password1 = forms.CharField(
        label=_("New password"),
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_(
            "Use at least 12 characters. Do not use a common password or one like your name."
        ),
    )
    password2 = forms.CharField(
        label=_("New password again"),
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, user: User, *args: Any, **kwargs: Any) -> None:
        self.user = user
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, second = data.get("password1"), data.get("password2")
        if first and second and first != second:
            self.add_error("password2", gettext("The two passwords do not match."))
        elif first:
            try:
                password_validation.validate_password(first, self.user)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return data


PASSWORD_CHECKS = 5  # wrong current passwords per account per 15 minutes


class PasswordChangeForm(NewPasswordForm):
    current_password = forms.CharField(
        label=_("Current password"),
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    field_order = ["current_password", "password1", "password2"]

    def clean_current_password(self) -> str:
        """Wrong guesses are limited (5 in 15 minutes per account) and audited: a session
        left open must not become a way to guess the password."""
        from accounts.services import password_check_failure_record
        from accounts.throttle import attempt_allowed, attempts_over

        value: str = self.cleaned_data["current_password"]
        scope, key = "password-check", str(self.user.pk)
        if attempts_over(scope=scope, key=key, limit=PASSWORD_CHECKS):
            raise forms.ValidationError(
                gettext("Too many wrong passwords. Try again in 15 minutes.")
            )
        if not self.user.check_password(value):
            attempt_allowed(scope=scope, key=key, limit=PASSWORD_CHECKS, window_seconds=900)
            password_check_failure_record(user=self.user)
            raise forms.ValidationError(gettext("Your current password is not right."))
        return value


class PatientEnrollForm(forms.Form):
    legal_name = forms.CharField(label="Legal name", max_length=200)
    date_of_birth = forms.DateField(
        label="Date of birth", widget=forms.DateInput(attrs={"type": "date"})
    )
    mrn = forms.RegexField(
        label="MRN",
        regex=r"^[A-Za-z0-9-]{3,32}$",
        max_length=32,
        error_messages={"invalid": "Letters, digits and hyphens, 3 to 32 characters."},
    )
    email = forms.EmailField(label="Notification e-mail", max_length=254)
    identity_method = forms.ChoiceField(
        label="How you verified their identity", choices=IdentityMethod.choices
    )
    identity_confirmed = forms.BooleanField(
        label="I have verified this person's identity as stated above.", required=True
    )

    def clean_legal_name(self) -> str:
        return " ".join(self.cleaned_data["legal_name"].split())

    def clean_date_of_birth(self) -> date:
        value: date = self.cleaned_data["date_of_birth"]
        if value > timezone.localdate() or value.year < 1900:
            raise forms.ValidationError("Enter a real date of birth.")
        return value

    def clean_email(self) -> str:
        return str(self.cleaned_data["email"]).lower()


class StaffCreateForm(forms.Form):
    full_name = forms.CharField(label="Full name", max_length=200)
    email = forms.EmailField(label="Work e-mail", max_length=254)
    role = forms.ChoiceField(
        label="Role", choices=[(r.value, r.label) for r in Role if r in STAFF_ROLES]
    )

    def clean_full_name(self) -> str:
        return " ".join(self.cleaned_data["full_name"].split())

    def clean_email(self) -> str:
        return str(self.cleaned_data["email"]).lower()


class EmailChangeForm(forms.Form):
    new_email = forms.EmailField(
        label=_("New e-mail address"),
        max_length=254,
        help_text=_("We will send a link there. Nothing changes until you open it."),
    )

    def clean_new_email(self) -> str:
        return str(self.cleaned_data["new_email"]).strip().lower()


class LanguageForm(forms.Form):
    language = forms.ChoiceField(
        label=_("Language for the portal, e-mails and letters"), choices=settings.LANGUAGES
    )
