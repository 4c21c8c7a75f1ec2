from django.db import models


class MessagingAction(models.TextChoices):
    """Messaging events. Stable codes: never rename or reuse one."""

    PATIENT_SEARCHED = "messaging.patient_searched", "Searched patients to message"
    DRAFT_SAVED = "messaging.draft_saved", "Draft saved"
    MESSAGE_SENT = "messaging.message_sent", "Secure message sent"
    SEND_REFUSED = "messaging.send_refused", "Secure message refused"
    REPLY_SENT = "messaging.reply_sent", "Reply sent"
    THREAD_VIEWED = "messaging.thread_viewed", "Conversation viewed"
    INBOX_LISTED = "messaging.inbox_listed", "Conversation listed in an inbox"
    COMPOSER_OPENED = "messaging.composer_opened", "Composer opened for a patient"
    DRAFT_OPENED = "messaging.draft_opened", "Draft opened"
    MESSAGE_OPENED = "messaging.message_opened", "Message opened"
    ATTACHMENT_DOWNLOADED = "messaging.attachment_downloaded", "Attachment downloaded"
    MESSAGE_RECALLED = "messaging.message_recalled", "Message recalled"
    THREAD_ASSIGNED = "messaging.thread_assigned", "Conversation assigned"
    THREAD_HANDLED = "messaging.thread_handled", "Conversation marked handled"
    THREAD_CONFIDENTIAL = "messaging.thread_confidential", "Conversation marked confidential or not"
    NOTICE_SENT = "messaging.notice_sent", "Notification e-mail sent"
    NOTICE_RETRY = "messaging.notice_retry", "Notification e-mail to be retried"
    NOTICE_FAILED = "messaging.notice_failed", "Notification e-mail failed"
    NOTICE_BOUNCED = "messaging.notice_bounced", "Notification e-mail bounced"
    BOUNCE_REFUSED = "messaging.bounce_refused", "Bounce report refused"
    NOTICE_RESEND_REQUESTED = "messaging.notice_resend_requested", "Notice to be resent"
    NOTICE_RESENT = "messaging.notice_resent", "Notice resent"
    PROXY_NOTICE_SENT = "messaging.proxy_notice_sent", "Notification e-mail sent to a proxy"
    PROXY_NOTICE_FAILED = "messaging.proxy_notice_failed", "Notification e-mail to a proxy failed"
    LETTER_PRINTED = "messaging.letter_printed", "Postal letter printed"
    TEMPLATE_SAVED = "messaging.template_saved", "Message template saved"
    TEMPLATE_ARCHIVED = "messaging.template_archived", "Message template archived"
    # Third-party guest pickup (messaging.guests).
    GUEST_PACKAGE_SENT = "messaging.guest_package_sent", "Package sent to a third party"
    GUEST_PACKAGE_RECALLED = "messaging.guest_package_recalled", "Third-party package recalled"
    GUEST_PACKAGES_LISTED = "messaging.guest_packages_listed", "Third-party packages listed"
    GUEST_COMPOSER_OPENED = "messaging.guest_composer_opened", "Third-party composer opened"
    GUEST_LINK_SENT = "messaging.guest_link_sent", "Pickup link e-mailed to a third party"
    GUEST_LINK_OPENED = "messaging.guest_link_opened", "Pickup link opened"
    GUEST_LINK_REFUSED = "messaging.guest_link_refused", "Pickup refused"
    GUEST_CODE_SENT = "messaging.guest_code_sent", "Pickup code e-mailed"
    GUEST_CODE_FAILED = "messaging.guest_code_failed", "Wrong pickup code entered"
    GUEST_CODE_VERIFIED = "messaging.guest_code_verified", "Pickup code verified"
    GUEST_LOCKED = "messaging.guest_locked", "Pickup link locked after wrong codes"
    GUEST_PACKAGE_VIEWED = "messaging.guest_package_viewed", "Third-party package viewed"
    GUEST_ATTACHMENT_DOWNLOADED = (
        "messaging.guest_attachment_downloaded",
        "Third-party package attachment downloaded",
    )
    # Delivery methods (messaging.delivery_settings).
    DELIVERY_POLICY_CHANGED = "messaging.delivery_policy_changed", "Delivery policy changed"
    DELIVERY_POLICY_REFUSED = "messaging.delivery_policy_refused", "Delivery policy change refused"
    DELIVERY_PREFERENCE_CHANGED = (
        "messaging.delivery_preference_changed",
        "Patient's delivery method changed",
    )
    # Passwords of locked PDFs (messaging.document_passwords); never their values.
    DOCUMENT_PASSWORD_SET = "messaging.document_password_set", "Document password set"
    DOCUMENT_PASSWORD_CHANGED = "messaging.document_password_changed", "Document password changed"
    DOCUMENT_PASSWORD_REMOVED = "messaging.document_password_removed", "Document password removed"
    ONE_TIME_PASSWORD_ISSUED = (
        "messaging.one_time_password_issued",
        "One-time password issued for a locked PDF",
    )
    ONE_TIME_PASSWORD_USED = (
        "messaging.one_time_password_used",
        "One-time password used to lock a PDF",
    )
    ONE_TIME_PASSWORD_DISCARDED = (
        "messaging.one_time_password_discarded",
        "One-time password discarded unused",
    )
    # Content delivered by an e-mail method (messaging.content_delivery).
    CONTENT_EMAILED = "messaging.content_emailed", "Message content e-mailed to the patient"
    CONTENT_FELL_BACK = (
        "messaging.content_fell_back",
        "Message content not e-mailed: portal pickup instead",
    )
    GUEST_CONTENT_EMAILED = (
        "messaging.guest_content_emailed",
        "Package e-mailed to a third party over verified TLS",
    )
    GUEST_CONTENT_FELL_BACK = (
        "messaging.guest_content_fell_back",
        "Package not e-mailed to a third party: pickup link instead",
    )
