"""Every URL of accounts classified for the access matrix (tests/access.py)."""

from __future__ import annotations

from tests.access import (
    OFFICER,
    PATIENT,
    PRE_MFA,
    PUBLIC,
    SIGNED_IN,
    STAFF,
    Route,
    totp_of,
)

ROUTES: dict[str, Route] = {
    "accounts:sign_in": Route(PUBLIC, methods=("GET", "POST")),
    "accounts:invitation_open": Route(PUBLIC, kwargs={"token": "x"}, ok_status=(410,)),
    "accounts:invitation_accept": Route(PUBLIC, methods=("GET", "POST"), ok_status=(410,)),
    "accounts:password_reset": Route(PUBLIC, methods=("GET", "POST")),
    "accounts:recovery_open": Route(PUBLIC, kwargs={"token": "x"}, ok_status=(410,)),
    "accounts:language_set": Route(PUBLIC, methods=("POST",), ok_status=(302,)),
    "accounts:password_reset_open": Route(
        PUBLIC, kwargs={"uidb64": "MQ", "token": "x-y"}, ok_status=(410,)
    ),
    "accounts:password_reset_set": Route(PUBLIC, methods=("GET", "POST"), ok_status=(410,)),
    "accounts:mfa_verify": Route(PRE_MFA, methods=("GET", "POST"), ok_status=(200, 302)),
    "accounts:mfa_enroll": Route(PRE_MFA, methods=("GET", "POST"), ok_status=(200, 302)),
    "accounts:sign_out": Route(PRE_MFA, methods=("POST",), ok_status=(302,)),
    "otp_webauthn:credential-authentication-begin": Route(PRE_MFA, methods=("POST",)),
    "otp_webauthn:credential-authentication-complete": Route(PRE_MFA, methods=("POST",)),
    "otp_webauthn:js-i18n-catalog": Route(PRE_MFA),
    "otp_webauthn:credential-registration-begin": Route(SIGNED_IN, methods=("POST",)),
    "otp_webauthn:credential-registration-complete": Route(
        SIGNED_IN,
        methods=("POST",),
        ok_status=(400,),  # no ceremony was begun
    ),
    "accounts:home": Route(SIGNED_IN),
    # Outside the few minutes after new codes were shown, the file is refused (410).
    "accounts:backup_codes_download": Route(SIGNED_IN, methods=("POST",), ok_status=(410,)),
    "accounts:session_keepalive": Route(SIGNED_IN, methods=("POST",), ok_status=(204,)),
    "accounts:security": Route(SIGNED_IN),
    # Where a passkey returns a fresh confirmation: onward (302), or back to the verify step.
    "accounts:fresh_return": Route(SIGNED_IN, ok_status=(302,)),
    "accounts:passkey_add": Route(SIGNED_IN),
    "accounts:password_change": Route(SIGNED_IN, methods=("GET", "POST")),
    "accounts:backup_codes": Route(SIGNED_IN, methods=("POST",)),
    # The patient's own authenticator app: anyone else's attempt is 404; for the patient it
    # needs a fresh second factor first (a redirect to the second-factor step).
    "accounts:factor_remove": Route(
        SIGNED_IN, PATIENT, methods=("POST",), kwargs=lambda p: totp_of(p.patient), ok_status=(302,)
    ),
    "accounts:patient_enroll": Route(SIGNED_IN, STAFF, methods=("GET", "POST")),
    "accounts:staff_create": Route(SIGNED_IN, OFFICER, methods=("GET", "POST")),
    "accounts:demo_outbox": Route(SIGNED_IN, OFFICER, settings={"APP_MODE": "demo"}),
    "accounts:email_change": Route(SIGNED_IN, methods=("GET", "POST")),
    "accounts:email_change_confirm": Route(
        SIGNED_IN, methods=("GET", "POST"), kwargs={"token": "x"}, ok_status=(410,)
    ),
}
