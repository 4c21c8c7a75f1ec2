from django.db import models


class AccountsAction(models.TextChoices):
    """Authentication and account events. Stable codes: never rename or reuse one."""

    SIGN_IN = "accounts.sign_in", "Signed in (password)"
    SIGN_IN_FAILED = "accounts.sign_in_failed", "Sign-in failed"
    LOCKED_OUT = "accounts.locked_out", "Locked out"
    SIGN_OUT = "accounts.sign_out", "Signed out"
    SESSION_EXPIRED = "accounts.session_expired", "Session ended by timeout"
    MFA_VERIFIED = "accounts.mfa_verified", "Second factor verified"
    MFA_FAILED = "accounts.mfa_failed", "Second factor failed"
    MFA_ENROLLED = "accounts.mfa_enrolled", "Second factor enrolled"
    MFA_REMOVED = "accounts.mfa_removed", "Second factor removed"
    BACKUP_CODES_ISSUED = "accounts.backup_codes_issued", "Backup codes issued"
    PASSWORD_CHANGED = "accounts.password_changed", "Password changed"
    INVITATION_ISSUED = "accounts.invitation_issued", "Invitation issued"
    INVITATION_USED = "accounts.invitation_used", "Invitation used"
    INVITATION_REFUSED = "accounts.invitation_refused", "Invitation link refused"
    PATIENT_ENROLLED = "accounts.patient_enrolled", "Patient enrolled"
    STAFF_CREATED = "accounts.staff_created", "Staff account created"
    ADMIN_CHANGE = "accounts.admin_change", "Admin change"
    ADMIN_VIEWED = "accounts.admin_viewed", "Viewed in the admin"
    CARE_TEAM_ADDED = "accounts.care_team_added", "Added to the care team"
    EMAIL_CHANGE_REQUESTED = "accounts.email_change_requested", "E-mail change requested"
    EMAIL_CHANGE_SENT = "accounts.email_change_sent", "E-mail change link sent"
    EMAIL_CHANGED = "accounts.email_changed", "E-mail address changed"
