"""Retention policies, legal holds, purge runs and the tombstones purges leave behind.

Nothing here holds health information in clear: a hold's reason is encrypted like any
other free text; tombstones keep ids, kinds, dates and the policy that applied.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone

from encryption.fields import EncryptedTextField
from encryption.models import EncryptedModel
from retention.rules import ClockStart, PeriodUnit, RecordKind


class RetentionPolicy(models.Model):
    """The privacy officer's retention period for one kind of record.

    A kind without a row follows its default (``rules.RULES``); the first change writes
    the row. Changes are audited with the old and new values, so the history of a
    policy is in the audit log, and each tombstone keeps the policy it was purged under.
    """

    kind = models.CharField(max_length=32, choices=RecordKind.choices, unique=True)
    clock_start = models.CharField(max_length=16, choices=ClockStart.choices)
    amount = models.PositiveIntegerField()
    unit = models.CharField(max_length=8, choices=PeriodUnit.choices)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name_plural = "retention policies"
        constraints: ClassVar[list[Any]] = [
            models.CheckConstraint(condition=Q(amount__gte=1), name="retention_policy_amount"),
        ]

    def __str__(self) -> str:
        return f"Retention policy {self.kind}"


class HoldScope(models.TextChoices):
    PATIENT = "patient", "Everything of a patient"
    THREAD = "thread", "One message thread"
    REQUEST = "request", "One record request"


class LegalHold(EncryptedModel):
    """A legal hold: nothing under it is purged while it lasts.

    A hold always names its patient (the thread's or request's, for narrower scopes),
    which is how the purge and the officer's screens scope it. It lasts until it is
    released, or to the end of ``ends_on`` in the organisation's time zone. The reason
    may name a lawsuit or a person, so it is encrypted.
    """

    scope = models.CharField(max_length=16, choices=HoldScope.choices)
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    thread = models.ForeignKey(
        "messaging.Thread", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    request = models.ForeignKey(
        "records.RecordRequest", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    reason = EncryptedTextField(max_length=2000)
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    placed_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField(null=True, blank=True)  # midnight after the end date
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )

    class Meta:
        constraints: ClassVar[list[Any]] = [
            models.CheckConstraint(
                condition=(
                    Q(scope=HoldScope.PATIENT, thread__isnull=True, request__isnull=True)
                    | Q(scope=HoldScope.THREAD, thread__isnull=False, request__isnull=True)
                    | Q(scope=HoldScope.REQUEST, thread__isnull=True, request__isnull=False)
                ),
                name="retention_hold_scope_target",
            ),
        ]

    def __str__(self) -> str:
        return f"Legal hold {self.pk}"

    def is_active(self, now: Any = None) -> bool:
        now = now or timezone.now()
        return self.released_at is None and (self.ends_at is None or now < self.ends_at)


class RunState(models.TextChoices):
    RUNNING = "running", "Running"
    FINISHED = "finished", "Finished"
    FAILED = "failed", "Stopped by an error"


class PurgeRun(models.Model):
    """One purge: when, started by what, and how many objects of each kind it erased.

    ``finished`` counts objects an earlier, interrupted run had left half-erased (data key
    destroyed, ciphertext still in the store) and this run completed. A run that dies
    stays ``running`` until the next one marks it failed. ``orphans`` counts ciphertext
    objects left in the store by uploads whose transaction rolled back.
    """

    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    trigger = models.CharField(max_length=16)  # "schedule" or "command"
    state = models.CharField(max_length=16, choices=RunState.choices, default=RunState.RUNNING)
    purged = models.JSONField(default=dict)  # {kind: count}
    finished = models.JSONField(default=dict)  # {kind: count}
    orphans = models.PositiveIntegerField(default=0)  # stored ciphertext no row named

    class Meta:
        ordering: ClassVar[list[str]] = ["-started_at"]

    def __str__(self) -> str:
        return f"Purge run #{self.pk}"

    @property
    def total(self) -> int:
        return sum(self.purged.values())


class Tombstone(models.Model):
    """What is left of a purged object: which it was, its dates, and the policy applied.

    Written in the same transaction that destroys the object's data keys. Its ciphertext
    files are deleted from the store after that commits, then ``completed_at`` is set;
    a tombstone without it is an interrupted purge, which the next run finishes.
    """

    kind = models.CharField(max_length=32, choices=RecordKind.choices)
    object_id = models.CharField(max_length=64)
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    clock_started_at = models.DateTimeField()
    erased_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    clock_start = models.CharField(max_length=16, choices=ClockStart.choices)
    amount = models.PositiveIntegerField()
    unit = models.CharField(max_length=8, choices=PeriodUnit.choices)
    storage_names = ArrayField(models.CharField(max_length=255), default=list)
    run = models.ForeignKey(PurgeRun, on_delete=models.PROTECT, related_name="tombstones")

    class Meta:
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["kind", "object_id"], name="retention_tombstone_once"),
        ]
        indexes: ClassVar[list[Any]] = [
            models.Index(
                fields=["erased_at"],
                condition=Q(completed_at__isnull=True),
                name="retention_tombstone_open",
            ),
        ]

    def __str__(self) -> str:
        return f"Tombstone {self.kind} {self.object_id}"
