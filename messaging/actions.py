from django.db import models


class MessagingAction(models.TextChoices):
    """Messaging events. Stable codes: never rename or reuse one."""

    PATIENT_SEARCHED = "messaging.patient_searched", "Searched patients to message"
    DRAFT_SAVED = "messaging.draft_saved", "Draft saved"
    MESSAGE_SENT = "messaging.message_sent", "Secure message sent"
    SEND_REFUSED = "messaging.send_refused", "Secure message refused"
    REPLY_SENT = "messaging.reply_sent", "Reply sent"
    THREAD_VIEWED = "messaging.thread_viewed", "Conversation viewed"
    MESSAGE_OPENED = "messaging.message_opened", "Message opened"
    ATTACHMENT_DOWNLOADED = "messaging.attachment_downloaded", "Attachment downloaded"
    MESSAGE_RECALLED = "messaging.message_recalled", "Message recalled"
    THREAD_ASSIGNED = "messaging.thread_assigned", "Conversation assigned"
    THREAD_HANDLED = "messaging.thread_handled", "Conversation marked handled"
    NOTICE_SENT = "messaging.notice_sent", "Notification e-mail sent"
    NOTICE_RETRY = "messaging.notice_retry", "Notification e-mail to be retried"
    NOTICE_FAILED = "messaging.notice_failed", "Notification e-mail failed"
    NOTICE_BOUNCED = "messaging.notice_bounced", "Notification e-mail bounced"
    BOUNCE_REFUSED = "messaging.bounce_refused", "Bounce report refused"
    NOTICE_RESEND_REQUESTED = "messaging.notice_resend_requested", "Notice to be resent"
    NOTICE_RESENT = "messaging.notice_resent", "Notice resent"
    LETTER_PRINTED = "messaging.letter_printed", "Postal letter printed"
    TEMPLATE_SAVED = "messaging.template_saved", "Message template saved"
    TEMPLATE_ARCHIVED = "messaging.template_archived", "Message template archived"
