"""Workforce policies with their acknowledgements, and the business associates register.

Nothing here is health information: a policy is the organisation's own text, a business
associate is a vendor. The signed agreements are stored encrypted all the same, as every
scan is (they name people and carry signatures).
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from encryption.models import EncryptedFile

POLICY_TEXT_LIMIT = 50_000


class PolicyKind(models.TextChoices):
    EMAIL_MESSAGING = "email_messaging", "E-mail and messaging policy"
    PRIVACY_SECURITY = "privacy_security", "Privacy and security policy"
    ACCEPTABLE_USE = "acceptable_use", "Acceptable use of the portal"
    INCIDENT_RESPONSE = "incident_response", "Security incident procedure"


class PolicyDocument(models.Model):
    """One published version of a workforce policy.

    Versions of a kind are numbered 1, 2, 3...; the newest (``superseded_at`` empty) is
    current, and every member of staff must acknowledge it before reaching anything else
    (``compliance.middleware``). Publishing a new version supersedes the old one, so
    everyone acknowledges again. A published text is never edited: a correction is a new
    version, and the old one stays as what people acknowledged.
    """

    kind = models.CharField(max_length=32, choices=PolicyKind.choices)
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    text = models.TextField(max_length=POLICY_TEXT_LIMIT)
    published_at = models.DateTimeField(default=timezone.now)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    superseded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["kind", "-version"]
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["kind", "version"], name="compliance_policy_version"),
            models.UniqueConstraint(
                fields=["kind"],
                condition=Q(superseded_at__isnull=True),
                name="compliance_policy_one_current",
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="compliance_policy_version_1"),
        ]

    def __str__(self) -> str:
        return f"Policy {self.kind} v{self.version}"

    @property
    def is_current(self) -> bool:
        return self.superseded_at is None


class PolicyAcknowledgement(models.Model):
    """A member of staff read and understood one version of a policy, at this time.

    Append-only: the table refuses UPDATE and DELETE by trigger (migration 0002), so the
    record an auditor is shown is the record that was made.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    document = models.ForeignKey(
        PolicyDocument, on_delete=models.PROTECT, related_name="acknowledgements"
    )
    acknowledged_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["user", "document"], name="compliance_ack_once"),
        ]

    def __str__(self) -> str:
        return f"Acknowledgement {self.pk}"


class BusinessAssociate(models.Model):
    """A vendor that creates, receives, keeps or sends PHI for the organisation
    (45 CFR 160.103), under a business associate agreement (164.502(e), 164.504(e)).

    Its agreements are ``AssociateAgreement`` rows, newest current. An associate the
    organisation stops using is ended, never deleted: the register is documentation
    kept six years (164.316(b)(2)).
    """

    name = models.CharField(max_length=200)
    service = models.CharField(max_length=500)
    added_at = models.DateTimeField(default=timezone.now)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    ended_on = models.DateField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )

    class Meta:
        ordering: ClassVar[list[str]] = ["name"]

    def __str__(self) -> str:
        return f"Business associate {self.pk}"


class AssociateAgreement(models.Model):
    """One signed business associate agreement: when it was signed, when it is up for
    renewal, and its scan (encrypted in the file store, like every scan). A renewal is a
    new row; the earlier agreements stay."""

    associate = models.ForeignKey(
        BusinessAssociate, on_delete=models.PROTECT, related_name="agreements"
    )
    signed_on = models.DateField()
    renewal_on = models.DateField()
    scan = models.ForeignKey(EncryptedFile, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering: ClassVar[list[str]] = ["-recorded_at"]
        constraints: ClassVar[list[Any]] = [
            models.CheckConstraint(
                condition=Q(renewal_on__gt=F("signed_on")), name="compliance_renewal_after_signing"
            ),
        ]

    def __str__(self) -> str:
        return f"Agreement {self.pk}"


class RenewalAlert(models.Model):
    """A privacy officer was told an agreement is up for renewal within 30 days.

    Unique per agreement and recipient: the daily run raises each alert once, and only
    the run whose INSERT took the row sends the e-mail. A renewal is a new agreement, so
    its own date is alerted in its turn.
    """

    agreement = models.ForeignKey(
        AssociateAgreement, on_delete=models.PROTECT, related_name="alerts"
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    raised_at = models.DateTimeField(default=timezone.now)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(
                fields=["agreement", "recipient"], name="compliance_renewal_alert_once"
            ),
        ]

    def __str__(self) -> str:
        return f"Renewal alert {self.pk}"
