"""What a patient's "Who viewed my information" shows, and in which words.

Every audit action is classified here, once: either it is shown to the patient (as one
of the plain phrases below) or it is internal. ``tests/audit/test_patient_history.py``
fails when an app registers an action that is in neither list, so a new action is a
deliberate choice, never a silent leak or a silent gap.

What is shown: a member of staff (or the privacy officer) opened, downloaded, sent,
shared or changed this patient's information: the access report a patient may ask
for and the "who viewed" part of the access logs (REGULATIONS.md: 164.312(b),
"Transmission and access logs"). Disclosures outside us are listed in detail on the
accounting page (164.528); here they show as "shared your information".

What is internal: the staff's own work on the system (audit searches and exports,
legal holds, retention, key management, staff accounts), steps that showed nothing
of the patient's information (a name in a list, a composer or draft not yet sent,
a refused step), and what the patient or a guest did themselves. ``audit`` sits below
the other apps, so codes are plain strings here.
"""

from __future__ import annotations

from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from audit import registry

# Each kind of access, in the words the patient reads after a staff member's name.
PHRASES = {
    "details": _("Looked at your details"),
    "account": _("Worked on your portal account"),
    "messages": _("Read your messages"),
    "sent": _("Sent you a message"),
    "recalled": _("Took back a message sent to you"),
    "conversation": _("Worked on your conversation"),
    "notice": _("Sent you a notice or a letter"),
    "shared": _("Shared your information with someone else"),
    "request": _("Worked on your request for records"),
    "permissions": _("Looked at your sharing choices"),
    "permissions_changed": _("Changed your sharing choices"),
    "accounting": _("Looked at the list of who we shared your information with"),
    "proxies": _("Changed who may act for you"),
}

# The actor's role, after their name, in the reader's language. The English texts are the
# account roles' labels, which the stored actor label ends with ("Name (Clinician)"):
# ``name_of`` takes that ending off so the page does not say the role twice.
ROLES = {
    "clinician": gettext_noop("Clinician"),
    "records_clerk": gettext_noop("Records clerk"),
    "privacy_officer": gettext_noop("Privacy officer"),
    # Someone acting for the patient (a parent, guardian, power of attorney or caregiver)
    "proxy": gettext_noop("Proxy"),
}


def role_label(role: str) -> str:
    """The role's name in the active language; "" for a role the page does not name."""
    return gettext(ROLES[role]) if role in ROLES else ""


def name_of(label: str, role: str) -> str:
    """The person's name from the stored actor label, without the English role the label
    ends with (the page adds the role in the reader's language)."""
    ending = f" ({ROLES[role]})" if role in ROLES else ""
    return label.removesuffix(ending) if ending else label


SHOWN_TO_PATIENT: dict[str, str] = {
    # Their details and their account
    "directory.patient_page_viewed": "details",
    "accounts.admin_viewed": "details",
    "accounts.admin_change": "account",
    "accounts.patient_enrolled": "account",
    "accounts.invitation_issued": "account",
    "accounts.care_team_added": "account",
    "accounts.care_team_removed": "account",
    "accounts.recovery_issued": "account",
    "accounts.recovery_sent": "account",
    "accounts.account_deactivated": "account",
    "accounts.account_reactivated": "account",
    "accounts.email_changed": "account",
    # Who may act for them (45 CFR 164.502(g)): access given, ended or suspended
    "accounts.proxy_link_created": "proxies",
    "accounts.proxy_link_revoked": "proxies",
    "accounts.proxy_link_suspended": "proxies",
    # Messages
    "messaging.thread_viewed": "messages",
    "messaging.message_opened": "messages",
    "messaging.attachment_downloaded": "messages",
    "messaging.message_sent": "sent",
    "messaging.reply_sent": "sent",
    # The patient's own message e-mailed to them (TLS or under their waiver): a
    # transmission of their information, so they see it.
    "messaging.content_emailed": "sent",
    "messaging.message_recalled": "recalled",
    "messaging.thread_assigned": "conversation",
    "messaging.thread_handled": "conversation",
    # Marked (or no longer) the patient's alone: shown as work on it, nothing more.
    "messaging.thread_confidential": "conversation",
    "messaging.notice_resend_requested": "notice",
    "messaging.letter_printed": "notice",
    "messaging.guest_package_sent": "shared",
    "messaging.guest_content_emailed": "shared",
    "messaging.guest_package_recalled": "shared",
    "messaging.guest_package_viewed": "shared",
    # Record requests
    "records.request_received": "request",
    "records.request_viewed": "request",
    "records.request_verified": "request",
    "records.request_assigned": "request",
    "records.request_started": "request",
    "records.request_extended": "request",
    "records.fee_estimated": "request",
    "records.document_added": "request",
    "records.document_removed": "request",
    "records.document_moved": "request",
    "records.document_renamed": "request",
    "records.package_build_queued": "request",
    "records.package_built": "request",
    "records.package_downloaded": "request",
    "records.request_fulfilled": "request",
    "records.request_denied": "request",
    "records.request_withdrawn": "request",
    # Consent and disclosures
    "consent.authorization_viewed": "permissions",
    "consent.authorization_exported": "permissions",
    "consent.scan_downloaded": "permissions",
    # The scanned authority of the patient's parent, guardian or power of attorney.
    "directory.proxy_evidence_downloaded": "permissions",
    "consent.overview_viewed": "permissions",
    "consent.preferences_viewed": "permissions",
    "consent.authorization_signed": "permissions_changed",
    "consent.authorization_recorded": "permissions_changed",
    "consent.authorization_corrected": "permissions_changed",
    "consent.authorization_revoked": "permissions_changed",
    "consent.waiver_accepted": "permissions_changed",
    "consent.waiver_revoked": "permissions_changed",
    "consent.preferences_changed": "permissions_changed",
    "messaging.delivery_preference_changed": "permissions_changed",
    # Only the patient sets their document password, so (as for their own preference
    # changes above) the access-history policy leaves these out; listed so that any
    # other actor would show.
    "messaging.document_password_set": "permissions_changed",
    "messaging.document_password_changed": "permissions_changed",
    "messaging.document_password_removed": "permissions_changed",
    # The sender's one-time password belongs to the message they send the patient.
    "messaging.one_time_password_issued": "sent",
    "consent.disclosure_recorded": "shared",
    "consent.accounting_viewed": "accounting",
    "consent.accounting_exported": "accounting",
}

INTERNAL: frozenset[str] = frozenset(
    {
        # The audit log itself: the privacy officer's review, sealing, the patient's own look
        "audit.searched",
        "audit.event_viewed",
        "audit.exported",
        "audit.verified",
        "audit.sealed",
        "audit.access_history_viewed",
        "audit.activity_review_viewed",
        "audit.activity_reviewed",
        # The compliance dashboard and evidence pack: counts, never one patient's record
        "evidence.dashboard_viewed",
        "evidence.pack_exported",
        # Sign-in and security of an account: the person's own steps
        "accounts.sign_in",
        "accounts.sign_in_failed",
        "accounts.locked_out",
        "accounts.sign_out",
        "accounts.session_expired",
        "accounts.mfa_verified",
        "accounts.mfa_failed",
        "accounts.mfa_enrolled",
        "accounts.mfa_removed",
        "accounts.backup_codes_issued",
        "accounts.backup_codes_downloaded",
        "accounts.password_changed",
        "accounts.password_reset_sent",
        "accounts.password_reset",
        "accounts.invitation_used",
        "accounts.invitation_refused",
        "accounts.recovery_refused",
        "accounts.recovery_used",
        "accounts.sign_in_ceiling",
        "accounts.password_check_failed",
        "accounts.email_change_requested",
        "accounts.email_change_sent",
        "accounts.language_changed",
        # A proxy's own account; their choice of whom to act for (a name in a list); the
        # daily age job narrowing or ending a parent's access (the system, not a person)
        "accounts.proxy_account_created",
        "accounts.proxy_acting_for",
        "accounts.proxy_link_narrowed",
        "accounts.proxy_link_aged_out",
        # Staff account administration
        "accounts.staff_created",
        "accounts.role_changed",
        "directory.staff_listed",
        "directory.staff_page_viewed",
        # Lists, searches and unsent work: a name in a list, nothing of the record opened
        "messaging.patient_searched",
        "messaging.inbox_listed",
        "messaging.composer_opened",
        "messaging.draft_saved",
        "messaging.draft_opened",
        "messaging.guest_composer_opened",
        "messaging.guest_packages_listed",
        "messaging.template_saved",
        "messaging.template_archived",
        "messaging.send_refused",
        "records.queue_listed",
        "records.request_refused",
        "records.package_build_failed",
        "records.deadline_alerted",
        "consent.authorizations_listed",
        "consent.authorization_refused",
        "consent.disclosure_refused",
        # A disclosure made outside the portal is listed in the accounting, which honours
        # a suspension (164.528(a)(2)); "shared" here would reveal a suspended one.
        "consent.outside_disclosure_recorded",
        # Delivery machinery (the system, not a person) and what guests did themselves
        # (a guest's pickup is on the accounting of disclosures)
        "messaging.notice_sent",
        "messaging.notice_retry",
        "messaging.notice_failed",
        "messaging.notice_bounced",
        "messaging.bounce_refused",
        "messaging.notice_resent",
        "messaging.proxy_notice_sent",
        "messaging.proxy_notice_failed",
        "messaging.content_fell_back",
        "messaging.guest_content_fell_back",
        "messaging.guest_link_sent",
        "messaging.guest_link_opened",
        "messaging.guest_link_refused",
        "messaging.guest_code_sent",
        "messaging.guest_code_failed",
        "messaging.guest_code_verified",
        "messaging.guest_locked",
        "messaging.guest_attachment_downloaded",
        "consent.authorization_event_expired",
        "consent.waiver_statement_published",
        # Retention, legal holds and key management
        "messaging.delivery_policy_changed",
        "messaging.delivery_policy_refused",
        # The worker reading a one-time password to lock a PDF, or discarding it (system steps)
        "messaging.one_time_password_used",
        "messaging.one_time_password_discarded",
        "retention.policy_changed",
        "retention.policy_refused",
        "retention.hold_placed",
        "retention.hold_released",
        "retention.purge_started",
        "retention.purge_finished",
        "retention.object_purged",
        "retention.overview_viewed",
        "retention.holds_listed",
        # Workforce policies and the business associates register: no patient in them
        "compliance.policy_published",
        "compliance.policy_acknowledged",
        "compliance.policy_read",
        "compliance.policies_listed",
        "compliance.policy_viewed",
        "compliance.associate_added",
        "compliance.associate_renewed",
        "compliance.associate_ended",
        "compliance.associates_listed",
        "compliance.agreement_downloaded",
        "compliance.renewal_alerted",
        "encryption.key_registered",
        "encryption.key_rotated",
        "encryption.keys_rewrapped",
        "encryption.key_retired",
        "encryption.data_erased",
        "encryption.store_verified",
    }
)

# Several actions read the same to a patient: one group per person, day and phrase.
KINDS: dict[str, list[str]] = {}
for _code, _kind in SHOWN_TO_PATIENT.items():
    KINDS.setdefault(_kind, []).append(_code)


def unclassified() -> list[str]:
    """Registered actions in neither list (a test keeps this empty)."""
    return [
        code
        for code, _label in registry.all_actions()
        if code not in SHOWN_TO_PATIENT and code not in INTERNAL
    ]


def phrase_for(kind: str) -> str:
    return str(PHRASES[kind])
