from __future__ import annotations

from django.db import models
from django.db.models.functions import Now


class Outcome(models.TextChoices):
    SUCCESS = "success", "Success"
    DENIED = "denied", "Denied"
    ERROR = "error", "Error"


class ActorKind(models.TextChoices):
    USER = "user", "User"
    ANONYMOUS = "anonymous", "Anonymous"
    SYSTEM = "system", "System"


class AuditEvent(models.Model):
    """One thing that happened to, or with, protected data (45 CFR 164.312(b)).

    Append-only: PostgreSQL triggers refuse UPDATE, DELETE and TRUNCATE. The actor is
    copied (id, role, label) rather than referenced, so the record outlives the
    account. ``details`` holds ids and codes only, never health information. The id is
    the sequence number; sealing (``AuditSeal``) chains events in that order.
    """

    id = models.BigAutoField(primary_key=True)
    occurred_at = models.DateTimeField(db_default=Now(), db_index=True)
    actor_kind = models.CharField(max_length=16, choices=ActorKind.choices)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_role = models.CharField(max_length=32, blank=True)
    actor_label = models.CharField(max_length=200, blank=True)
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    patient_id = models.BigIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.SUCCESS)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["patient_id", "-id"], name="audit_patient_idx"),
            models.Index(fields=["actor_id", "-id"], name="audit_actor_idx"),
            models.Index(fields=["action", "-id"], name="audit_action_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.outcome}"
