"""Sign-in & security: a person's own factors, password and notification address."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_otp_webauthn.models import WebAuthnCredential

from accounts import services
from accounts.errors import AccountsError
from accounts.forms import (
    EmailChangeForm,
    PasswordChangeForm,
)
from accounts.models import AuthenticatorApp, BackupCodes, User
from accounts.selectors import sign_in_factors_for
from accounts.views.backup_codes import backup_codes_page
from core.decorators import fresh_otp_required
from core.forms import posted
from core.sessions import (
    otp_is_fresh,
)

# Names the services give devices (English, stored): shown as the translated label instead.
DEFAULT_DEVICE_NAMES = frozenset({"Authenticator app", "Demo authenticator"})


@require_GET
def security(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    factors = []
    for device in sign_in_factors_for(user):
        model_name = device._meta.model_name
        kind = "passkey" if model_name == "webauthncredential" else model_name
        labels = {"authenticatorapp": _("Authenticator app"), "backupcodes": _("Backup codes")}
        label = labels.get(kind, _("Passkey"))
        remaining = device.codes.count() if kind == "backupcodes" else None
        # The name a service gave (English) is the label again; a name the person chose stays.
        details = label if device.name in DEFAULT_DEVICE_NAMES else device.name
        factors.append(
            {
                "device": device,
                "kind": kind,
                "label": label,
                "remaining": remaining,
                "details": details,
            }
        )
    return render(
        request,
        "accounts/security.html",
        {"factors": factors, "fresh": otp_is_fresh(request), "password_form": None},
    )


def _factor_model(kind: str) -> Any:
    models = {
        "authenticatorapp": AuthenticatorApp,
        "backupcodes": BackupCodes,
        "passkey": WebAuthnCredential,
    }
    if kind not in models:
        raise Http404
    return models[kind]


@require_POST
@fresh_otp_required
def factor_remove(request: HttpRequest, kind: str, pk: str) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    model = _factor_model(kind)
    try:
        device = model.objects.filter(pk=pk, user=user).first()
    except (ValueError, ValidationError):  # not an id of that kind at all
        raise Http404 from None
    if device is None:
        raise Http404
    try:
        services.mfa_device_remove(user=user, device=device)
    except AccountsError as error:
        messages.error(request, error.message)
    else:
        update_session_auth_hash(request, user)
        messages.success(
            request, _("The second step was removed. You were signed out on your other devices.")
        )
    return redirect("accounts:security")


@require_POST
@fresh_otp_required
def backup_codes_regenerate(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    with transaction.atomic():
        codes = services.backup_codes_issue(user=user)
    return backup_codes_page(request, codes, first=False)


@sensitive_post_parameters("current_password", "password1", "password2")
@never_cache
@require_http_methods(["GET", "POST"])
@fresh_otp_required
def password_change(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    form = PasswordChangeForm(user, posted(request))
    if request.method == "POST" and form.is_valid():
        services.password_change(user=user, new_password=form.cleaned_data["password1"])
        update_session_auth_hash(request, user)
        messages.success(
            request, _("Your password was changed. You were signed out on your other devices.")
        )
        return redirect("accounts:security")
    return render(request, "accounts/password_change.html", {"form": form})


@sensitive_post_parameters("new_email")
@never_cache
@require_http_methods(["GET", "POST"])
@fresh_otp_required
def email_change(request: HttpRequest) -> HttpResponse:
    """Ask for a new notification address; it takes effect once confirmed from that mailbox."""
    user: User = request.user  # type: ignore[assignment]
    form = EmailChangeForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.email_change_request(
                actor=user, user=user, new_email=form.cleaned_data["new_email"]
            )
        except AccountsError as error:
            # "Taken" gets the same answer as success: this form must not tell a patient
            # whether someone else has an account here (nothing is sent, nothing changes).
            if error.code != "email_taken":
                form.add_error("new_email", error.message)
                return render(request, "accounts/email_change.html", {"form": form})
            messages.success(request, _("We sent a link to the new address. Open it to finish."))
            return redirect("accounts:security")
        else:
            messages.success(request, _("We sent a link to the new address. Open it to finish."))
            return redirect("accounts:security")
    return render(request, "accounts/email_change.html", {"form": form})


@never_cache
@require_http_methods(["GET", "POST"])
def email_change_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The link sent to a new address, opened while signed in as its account's owner."""
    user: User = request.user  # type: ignore[assignment]
    try:
        change = services.email_change_from_token(token=token, user=user)
    except AccountsError as error:
        return render(
            request, "accounts/email_change_invalid.html", {"reason": error.message}, status=410
        )
    if request.method == "POST":
        try:
            services.email_change_confirm(user=user, change_id=change.pk)
        except AccountsError as error:  # e.g. the address was taken meanwhile
            return render(
                request, "accounts/email_change_invalid.html", {"reason": error.message}, status=410
            )
        messages.success(request, _("Your e-mail address is confirmed. Notices now go there."))
        return redirect("accounts:security")
    return render(request, "accounts/email_change_confirm.html", {"change": change})


@never_cache
@require_GET
@fresh_otp_required
def passkey_add(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/passkey_add.html")
