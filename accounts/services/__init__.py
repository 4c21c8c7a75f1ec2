"""State changes for accounts: enrollment, invitations, signing in, second factors,
passwords and addresses. Each function does the whole change (rules, save, audit event,
follow-up after commit) inside one transaction, so a rollback leaves neither the change
nor its event. Split by sub-domain; every service is importable from here.
"""

from accounts.services.addresses import (
    email_change_confirm,
    email_change_from_token,
    email_change_request,
    email_change_token_make,
    email_changes_resend_unsent,
    language_choose,
)
from accounts.services.enrollment import (
    care_team_add,
    patient_enroll,
    privacy_officer_bootstrap,
    staff_create,
)
from accounts.services.factors import (
    BACKUP_CODE_COUNT,
    backup_codes_download_record,
    backup_codes_issue,
    backup_codes_match,
    mfa_device_remove,
    passkey_registered,
    totp_device_confirm,
    totp_device_start,
)
from accounts.services.invitations import (
    invitation_accept,
    invitation_deliver,
    invitation_from_token,
    invitation_issue,
    invitations_resend_unsent,
)
from accounts.services.management import (
    account_deactivate,
    account_reactivate,
    care_team_member_add,
    care_team_member_remove,
    invitation_resend,
    role_change,
)
from accounts.services.passwords import (
    password_change,
    password_reset_complete,
    password_reset_deliver,
    password_reset_request,
    password_reset_user,
)
from accounts.services.recovery import (
    RECOVERY_LIFETIME,
    recovery_complete,
    recovery_deliver,
    recovery_from_token,
    recovery_issue,
)
from accounts.services.sign_in import (
    ACCOUNT_FAILURE_CEILING,
    account_failures_add,
    account_slowed,
    password_check_failure_record,
    second_factor_check,
    sign_in_failure_record,
    sign_in_record,
    sign_out_record,
)

__all__ = [
    "ACCOUNT_FAILURE_CEILING",
    "BACKUP_CODE_COUNT",
    "RECOVERY_LIFETIME",
    "account_deactivate",
    "account_failures_add",
    "account_reactivate",
    "account_slowed",
    "backup_codes_download_record",
    "backup_codes_issue",
    "backup_codes_match",
    "care_team_add",
    "care_team_member_add",
    "care_team_member_remove",
    "email_change_confirm",
    "email_change_from_token",
    "email_change_request",
    "email_change_token_make",
    "email_changes_resend_unsent",
    "invitation_accept",
    "invitation_deliver",
    "invitation_from_token",
    "invitation_issue",
    "invitation_resend",
    "invitations_resend_unsent",
    "language_choose",
    "mfa_device_remove",
    "passkey_registered",
    "password_change",
    "password_check_failure_record",
    "password_reset_complete",
    "password_reset_deliver",
    "password_reset_request",
    "password_reset_user",
    "patient_enroll",
    "privacy_officer_bootstrap",
    "recovery_complete",
    "recovery_deliver",
    "recovery_from_token",
    "recovery_issue",
    "role_change",
    "second_factor_check",
    "sign_in_failure_record",
    "sign_in_record",
    "sign_out_record",
    "staff_create",
    "totp_device_confirm",
    "totp_device_start",
]
