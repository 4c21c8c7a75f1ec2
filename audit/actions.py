from django.db import models


class AuditAction(models.TextChoices):
    """The audit app's own events. Stable codes: never rename or reuse one."""

    SEARCHED = "audit.searched", "Audit log searched"
    EVENT_VIEWED = "audit.event_viewed", "Audit event viewed"
    EXPORTED = "audit.exported", "Audit log exported"
    VERIFIED = "audit.verified", "Audit chain verified"
    SEALED = "audit.sealed", "Audit events sealed"
    ACCESS_HISTORY_VIEWED = "audit.access_history_viewed", "Own access history viewed"
    ACTIVITY_REVIEW_VIEWED = "audit.activity_review_viewed", "Activity review lists viewed"
    ACTIVITY_REVIEWED = "audit.activity_reviewed", "Period marked reviewed"


# What a patient is told was looked at, per target type this app records.
TARGET_TYPES = {
    "audit.auditevent": "Access log entry",
    "audit.search": "Access log search",
    "audit.export": "Access log export",
    "audit.activityreview": "Activity review",
}
