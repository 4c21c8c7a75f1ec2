"""Passkeys (django-otp-webauthn) as a second factor, with our rules on top.

- User verification is REQUIRED for registration and for every authentication (the
  library's defaults are "preferred" and, for a signed-in user, "discouraged"), so a
  passkey stands for possession and a PIN or biometric.
- Passwordless sign-in is off (``OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False``): the
  password step, with its lockout, always comes first.
- A failed ceremony is audited and counts towards the django-axes lockout like a wrong
  TOTP code; a success rotates the session id and is audited.
- Registering a passkey needs a fresh second factor and ends the user's other sessions.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import update_session_auth_hash
from django.http import HttpResponse, JsonResponse
from django_otp import login as otp_login
from django_otp_webauthn import exceptions
from django_otp_webauthn.helpers import WebAuthnHelper
from django_otp_webauthn.models import WebAuthnCredential
from django_otp_webauthn.views import (
    BeginCredentialAuthenticationView,
    BeginCredentialRegistrationView,
    CompleteCredentialAuthenticationView,
    CompleteCredentialRegistrationView,
)
from webauthn.helpers.structs import AuthenticatorSelectionCriteria, UserVerificationRequirement

from accounts import services
from accounts.actions import AccountsAction
from accounts.lockout import second_factor_failed, second_factor_succeeded
from audit.models import Outcome
from audit.services import event_record
from core.sessions import mark_otp_verified, otp_is_fresh


class StrictWebAuthnHelper(WebAuthnHelper):
    def get_generate_registration_options_kwargs(self, *, user: Any) -> dict[str, Any]:
        options = super().get_generate_registration_options_kwargs(user=user)
        selection = options["authenticator_selection"]
        options["authenticator_selection"] = AuthenticatorSelectionCriteria(
            authenticator_attachment=selection.authenticator_attachment,
            resident_key=selection.resident_key,
            user_verification=UserVerificationRequirement.REQUIRED,
        )
        return options

    def get_generate_authentication_options_kwargs(
        self, *, user: Any = None, require_user_verification: bool
    ) -> dict[str, Any]:
        return super().get_generate_authentication_options_kwargs(
            user=user, require_user_verification=True
        )


class FreshVerificationRequired(exceptions.OTPWebAuthnApiError):
    status_code = 403
    default_detail = "Confirm it is you with your second factor first."
    default_code = "fresh_verification_required"


class PasskeyLocked(exceptions.OTPWebAuthnApiError):
    status_code = 429
    default_detail = "Too many attempts. Try again later."
    default_code = "locked_out"


def _is_locked(request: Any) -> bool:
    from axes.handlers.proxy import AxesProxyHandler

    return not AxesProxyHandler.is_allowed(request, {"username": request.user.email})


class _AfterPasswordMixin:
    """Both halves of the ceremony: only after the password step, never while locked out."""

    request: Any

    def check_can_authenticate(self) -> None:
        super().check_can_authenticate()  # type: ignore[misc]
        if not self.request.user.is_authenticated:
            raise exceptions.PasswordlessLoginDisabled()
        if _is_locked(self.request):
            raise PasskeyLocked()


class PasskeyAuthBeginView(_AfterPasswordMixin, BeginCredentialAuthenticationView):
    pass


class PasskeyAuthCompleteView(_AfterPasswordMixin, CompleteCredentialAuthenticationView):
    def complete_auth(self, device: Any) -> Any:
        request = self.request
        otp_login(request, device)
        request.session.cycle_key()
        mark_otp_verified(request)
        user = request.user
        second_factor_succeeded(request, user.email)
        event_record(
            action=AccountsAction.MFA_VERIFIED,
            target=device,
            patient_id=user.audit_patient_id,
            details={"factor": "passkey"},
        )
        return user

    def handle_exception(self, exc: Exception) -> HttpResponse:
        request = self.request
        if (
            isinstance(exc, exceptions.OTPWebAuthnApiError)
            and not isinstance(exc, PasskeyLocked | exceptions.PasswordlessLoginDisabled)
            and request.user.is_authenticated
        ):
            user = request.user
            event_record(
                action=AccountsAction.MFA_FAILED,
                outcome=Outcome.DENIED,
                target=user,
                patient_id=user.audit_patient_id,
                details={"factor": "passkey", "code": exc.code},
            )
            second_factor_failed(request, user.email)
        response: HttpResponse = super().handle_exception(exc)
        return response


class PasskeyRegisterBeginView(BeginCredentialRegistrationView):
    def check_can_register(self) -> None:
        super().check_can_register()
        if not otp_is_fresh(self.request):
            raise FreshVerificationRequired()


class PasskeyRegisterCompleteView(CompleteCredentialRegistrationView):
    def check_can_register(self) -> None:
        super().check_can_register()
        if not otp_is_fresh(self.request):
            raise FreshVerificationRequired()

    def post(self, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().post(*args, **kwargs)
        if isinstance(response, JsonResponse) and response.status_code == 200:
            import json

            device_id = json.loads(response.content)["id"]
            device = WebAuthnCredential.objects.get(pk=device_id, user=self.request.user)
            services.passkey_registered(user=self.request.user, device=device)
            update_session_auth_hash(self.request, self.request.user)
        return response
