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
    occurred_at = models.DateTimeField(db_default=Now())
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
            # A search by dates, newest first, and the period reviews: (time, id).
            models.Index(fields=["occurred_at", "id"], name="audit_occurred_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.outcome}"


class AuditSeal(models.Model):
    """The link that chains one event to the one sealed before it (45 CFR 164.312(b)).

    Kept apart from the event because events may never be updated: a sealing job
    appends one row per event, in sequence order, some seconds after the event was
    written, so writers never wait on the chain. ``hash`` is an HMAC-SHA256, keyed
    from ``AUDIT_SEAL_KEY`` (which never enters the database), over the previous
    event's id and hash and the event's canonical serialization (``audit.chain``):
    someone with database access alone can neither edit an event nor forge the seal
    of an inserted one. Append-only like the events.
    """

    event = models.OneToOneField(
        AuditEvent, primary_key=True, on_delete=models.PROTECT, related_name="seal"
    )
    prev_event_id = models.BigIntegerField(null=True, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)
    key_id = models.CharField(max_length=16)

    def __str__(self) -> str:
        return f"seal #{self.event_id}"


class AuditCheckpoint(models.Model):
    """A signed statement of the chain head: "through event N there are C sealed events
    and the head hash is H", one per sealing batch.

    The chain proves each seal against its predecessor; a checkpoint also proves the
    length, so cutting events off the end of the chain is found too. New checkpoints are
    signed with Ed25519 (``AUDIT_SIGNING_KEY_FILE``) over the head and a public head
    (``audit.chain``), so anyone with the public key can check them; older ones carry an
    HMAC-SHA256 under a key derived from ``AUDIT_SEAL_KEY`` and still verify with it.
    ``key_id`` names which key, so old checkpoints remain verifiable after a rotation.
    Append-only; each is also written to an anchor outside the database (``AuditAnchor``).
    """

    class Algorithm(models.TextChoices):
        HMAC_SHA256 = "hmac-sha256", "HMAC-SHA256"
        ED25519 = "ed25519", "Ed25519"

    id = models.BigAutoField(primary_key=True)
    through_event_id = models.BigIntegerField(unique=True)
    head_hash = models.CharField(max_length=64)
    count = models.BigIntegerField()
    created_at = models.DateTimeField()
    key_id = models.CharField(max_length=16)
    algorithm = models.CharField(
        max_length=16, choices=Algorithm.choices, default=Algorithm.HMAC_SHA256
    )
    # Ed25519 only: the unkeyed chain's head and the checkpoint before this one.
    public_head = models.CharField(max_length=64, blank=True)
    prev_through_event_id = models.BigIntegerField(null=True, blank=True)
    signature = models.CharField(max_length=128)

    class Meta:
        ordering = ["through_event_id"]

    def __str__(self) -> str:
        return f"checkpoint through #{self.through_event_id}"


class AuditAnchor(models.Model):
    """A checkpoint that has been written to the anchor sink outside the database.

    The row is written after the sink accepted the checkpoint, so a checkpoint without
    one is still to be anchored (the sealing task retries every run, and
    ``audit_verify`` counts them). Append-only like the rest of the trail.
    """

    checkpoint = models.OneToOneField(
        AuditCheckpoint, primary_key=True, on_delete=models.PROTECT, related_name="anchor"
    )
    sink = models.CharField(max_length=8)
    location = models.CharField(max_length=300)
    written_at = models.DateTimeField(db_default=Now())

    def __str__(self) -> str:
        return f"anchor of checkpoint {self.checkpoint_id}"


class ActivityReview(models.Model):
    """The privacy officer's record that a period's activity was reviewed (45 CFR
    164.308(a)(1)(ii)(D)): the period (local days, both inclusive), who reviewed it and
    when, what they found, and the counts the review lists showed at that moment.

    The reviewer is copied (id and label), as an event's actor is. ``findings`` is the
    officer's own text and may name people by audit event number or MRN; only the
    privacy officer's screens and the evidence pack show it, never a log or an event.
    Append-only like the events: a later review of the same period adds a row.
    """

    id = models.BigAutoField(primary_key=True)
    period_start = models.DateField()
    period_end = models.DateField()
    reviewed_at = models.DateTimeField(db_default=Now())
    reviewed_by_id = models.BigIntegerField()
    reviewed_by_label = models.CharField(max_length=200)
    findings = models.TextField(max_length=5000)
    counts = models.JSONField(default=dict)

    class Meta:
        ordering = ["-reviewed_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(period_start__lte=models.F("period_end")),
                name="audit_review_period_order",
            )
        ]
        indexes = [models.Index(fields=["period_end"], name="audit_review_period_end")]

    def __str__(self) -> str:
        return f"activity review {self.period_start}..{self.period_end}"
