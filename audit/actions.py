from django.db import models


class AuditAction(models.TextChoices):
    """The audit app's own events. Stable codes: never rename or reuse one."""

    SEARCHED = "audit.searched", "Audit log searched"
    EVENT_VIEWED = "audit.event_viewed", "Audit event viewed"
    EXPORTED = "audit.exported", "Audit log exported"
    VERIFIED = "audit.verified", "Audit chain verified"
    SEALED = "audit.sealed", "Audit events sealed"
