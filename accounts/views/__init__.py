"""The views of accounts, by screen group: ``sign_in``, ``security`` and ``staff``."""

from accounts.views.backup_codes import backup_codes_download
from accounts.views.language import language_set
from accounts.views.recovery import (
    password_reset,
    password_reset_open,
    password_reset_set,
)
from accounts.views.security import (
    backup_codes_regenerate,
    email_change,
    email_change_confirm,
    factor_remove,
    passkey_add,
    password_change,
    security,
)
from accounts.views.sign_in import (
    SESSION_TOTP_PENDING,
    SIGN_IN_FAILED_MESSAGE,
    fresh_return,
    invitation_accept,
    invitation_open,
    mfa_enroll,
    mfa_verify,
    recovery_open,
    session_keepalive,
    sign_in,
    sign_out,
)
from accounts.views.staff import (
    csrf_failure,
    demo_outbox,
    patient_enroll,
    staff_create,
)

__all__ = [
    "SESSION_TOTP_PENDING",
    "SIGN_IN_FAILED_MESSAGE",
    "backup_codes_download",
    "backup_codes_regenerate",
    "csrf_failure",
    "demo_outbox",
    "email_change",
    "email_change_confirm",
    "factor_remove",
    "fresh_return",
    "invitation_accept",
    "invitation_open",
    "language_set",
    "mfa_enroll",
    "mfa_verify",
    "passkey_add",
    "password_change",
    "password_reset",
    "password_reset_open",
    "password_reset_set",
    "patient_enroll",
    "recovery_open",
    "security",
    "session_keepalive",
    "sign_in",
    "sign_out",
    "staff_create",
]
