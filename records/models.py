"""Requests for a copy of one's records (45 CFR 164.524), their deadlines and packages.

What was asked, by whom and what the clerk wrote is encrypted; states, kinds, dates
and deadlines stay clear because the queue sorts and filters on them.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from encryption.fields import EncryptedTextField
from encryption.models import EncryptedFile, EncryptedModel


class RequestState(models.TextChoices):
    RECEIVED = "received", _("Received")
    VERIFIED = "verified", _("Identity verified")
    IN_PROGRESS = "in_progress", _("In progress")
    FULFILLED = "fulfilled", _("Fulfilled")
    PARTLY_DENIED = "partly_denied", _("Fulfilled in part, part denied")
    DENIED = "denied", _("Denied")
    WITHDRAWN = "withdrawn", _("Withdrawn")


OPEN_STATES = (RequestState.RECEIVED, RequestState.VERIFIED, RequestState.IN_PROGRESS)


class ArrivedBy(models.TextChoices):
    PORTAL = "portal", "The portal"
    LETTER = "letter", "Letter"
    FAX = "fax", "Fax"
    PHONE = "phone", "Phone"
    IN_PERSON = "in_person", "In person"


class DeliverTo(models.TextChoices):
    PORTAL = "portal", _("PDF in the portal")
    PAPER = "paper", _("Paper copy")
    THIRD_PARTY = "third_party", _("To a person you name")


class VerificationMethod(models.TextChoices):
    PORTAL_MFA = "portal_mfa", "Signed in to the portal with two factors"
    PHOTO_ID = "photo_id", "Photo ID checked in person"
    KNOWLEDGE = "knowledge", "Identity questions on a call back to the number on file"
    REPRESENTATIVE_DOCUMENTS = "representative_documents", "Representative's documents checked"


class BuildState(models.TextChoices):
    NONE = "none", "Not built"
    QUEUED = "queued", "Waiting to build"
    BUILDING = "building", "Building"
    BUILT = "built", "Built"
    FAILED = "failed", "Build failed"


class RecordRequest(EncryptedModel):
    """One right-of-access request and its whole life.

    ``received_at`` starts the clock; ``due_at`` is the exclusive end of the due day
    (``records.deadlines``), moved at most once by an extension whose notice was sent
    (``extended_at``, ``original_due_at``). Identity and authority are verified before
    anything is released (45 CFR 164.514(h)): ``verified_*``. The package is built in
    the background (``build_*``) and delivered as a secure message or a guest package.
    """

    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="record_requests"
    )
    state = models.CharField(
        max_length=16, choices=RequestState.choices, default=RequestState.RECEIVED
    )
    received_at = models.DateTimeField()
    arrived_by = models.CharField(max_length=16, choices=ArrivedBy.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # Who asked: the patient, or a personal representative with their authority.
    representative_name = EncryptedTextField(max_length=200, blank=True)
    representative_authority = EncryptedTextField(max_length=500, blank=True)
    # What: kinds of record and dates, and the patient's own words.
    categories = ArrayField(models.CharField(max_length=32))
    records_from = models.DateField(null=True, blank=True)
    records_to = models.DateField(null=True, blank=True)
    details = EncryptedTextField(max_length=2000, blank=True)
    # Form, format and destination (164.524(c)(2), (c)(3)).
    deliver_to = models.CharField(max_length=16, choices=DeliverTo.choices)
    third_party_name = EncryptedTextField(max_length=200, blank=True)
    third_party_email = EncryptedTextField(max_length=254, blank=True)
    third_party_address = EncryptedTextField(max_length=500, blank=True)
    # The clock.
    due_at = models.DateTimeField()
    original_due_at = models.DateTimeField()
    extended_at = models.DateTimeField(null=True, blank=True)
    extension_reason = EncryptedTextField(max_length=2000, blank=True)
    # 164.514(h): who verified identity and authority, how, when.
    verified_at = models.DateTimeField(null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    verification_method = models.CharField(
        max_length=32, choices=VerificationMethod.choices, blank=True
    )
    verification_note = EncryptedTextField(max_length=1000, blank=True)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_record_requests",
    )
    # 164.524(c)(4): an optional cost-based fee estimate given before fulfilment.
    fee_estimate_cents = models.PositiveIntegerField(null=True, blank=True)
    fee_basis = EncryptedTextField(max_length=1000, blank=True)
    fee_given_at = models.DateTimeField(null=True, blank=True)
    # The package.
    build_state = models.CharField(
        max_length=16, choices=BuildState.choices, default=BuildState.NONE
    )
    build_done = models.PositiveIntegerField(default=0)
    build_total = models.PositiveIntegerField(default=0)
    build_failure = models.CharField(max_length=64, blank=True)  # a code, never text
    build_queued_at = models.DateTimeField(null=True, blank=True)
    build_lease_until = models.DateTimeField(null=True, blank=True)
    package = models.ForeignKey(
        EncryptedFile, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    package_pages = models.PositiveIntegerField(null=True, blank=True)
    # The end.
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    denial_basis = EncryptedTextField(max_length=4000, blank=True)
    delivered_message_id = models.UUIDField(null=True, blank=True)
    delivered_package_id = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=RequestState.values), name="records_request_state"
            ),
            models.CheckConstraint(
                condition=Q(extended_at__isnull=True) | Q(due_at__gt=models.F("original_due_at")),
                name="records_request_extension_moves_due",
            ),
            models.CheckConstraint(
                condition=Q(extended_at__isnull=False) | Q(due_at=models.F("original_due_at")),
                name="records_request_due_moves_only_by_extension",
            ),
            models.CheckConstraint(
                condition=Q(state__in=["received", "withdrawn", "denied"])
                | Q(verified_at__isnull=False),
                name="records_request_verified_before_work",
            ),
        ]
        indexes = [
            models.Index(
                fields=["due_at"],
                condition=Q(state__in=["received", "verified", "in_progress"]),
                name="records_request_open_due",
            ),
            models.Index(fields=["patient", "-received_at"], name="records_request_patient"),
            models.Index(fields=["received_at"], name="records_request_received"),
            models.Index(fields=["closed_at"], name="records_request_closed"),
            # The queue's order (soonest due first) for the views that take closed
            # requests too: read in order and stopped after a page, never sorted whole.
            models.Index(fields=["due_at", "received_at"], name="records_request_due"),
        ]

    def __str__(self) -> str:
        return f"Record request {self.pk}"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


class RequestDocument(models.Model):
    """A source document the clerk uploaded for the package, in order."""

    request = models.ForeignKey(RecordRequest, on_delete=models.CASCADE, related_name="documents")
    file = models.OneToOneField(EncryptedFile, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveSmallIntegerField(default=0)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "added_at"]

    def __str__(self) -> str:
        return f"Request document {self.pk}"

    @property
    def title(self) -> str:
        """The clerk's title for the package index, or "" for the file's own name."""
        try:
            return str(self.title_record.text)
        except DocumentTitle.DoesNotExist:
            return ""


class DocumentTitle(EncryptedModel):
    """The title a clerk gave a request document, as the package index prints it.

    A title names what the record is ("MRI report, left knee"), so it is PHI and
    encrypted; it lives beside ``RequestDocument`` because that row has an integer key
    and encrypted fields need the client-made UUID key of ``EncryptedModel``.
    """

    document = models.OneToOneField(
        RequestDocument, on_delete=models.CASCADE, related_name="title_record"
    )
    text = EncryptedTextField(max_length=200)

    def __str__(self) -> str:
        return f"Document title {self.pk}"


class NoticeKind(models.TextChoices):
    EXTENSION = "extension", _("Extension notice")
    DENIAL = "denial", _("Denial letter")


class RequestNotice(models.Model):
    """A written notice to the patient (extension or denial), as generated and sent."""

    request = models.ForeignKey(RecordRequest, on_delete=models.PROTECT, related_name="notices")
    kind = models.CharField(max_length=16, choices=NoticeKind.choices)
    file = models.OneToOneField(EncryptedFile, on_delete=models.PROTECT, related_name="+")
    message_id = models.UUIDField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Request notice {self.pk}"


class AlertKind(models.TextChoices):
    DAYS_7 = "due_in_7", "Due in 7 days"
    DAYS_3 = "due_in_3", "Due in 3 days"
    DAYS_1 = "due_in_1", "Due tomorrow"
    OVERDUE = "overdue", "Overdue"


class RequestAlert(models.Model):
    """One deadline alert to one person, at most once per request, kind and due date, so
    running the daily job twice alerts once. An extension
    moves the due date, so the thresholds apply again to the new one."""

    request = models.ForeignKey(RecordRequest, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=16, choices=AlertKind.choices)
    due_at = models.DateTimeField()
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="record_alerts"
    )
    created_at = models.DateTimeField(default=timezone.now)
    emailed_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["request", "kind", "due_at", "recipient"], name="records_alert_once"
            )
        ]
        indexes = [
            models.Index(
                fields=["recipient"],
                condition=Q(read_at__isnull=True),
                name="records_alert_unread",
            )
        ]

    def __str__(self) -> str:
        return f"Alert {self.pk}"


class RequestWeek(models.Model):
    """Requests received, fulfilled and fulfilled on time in one local week (from Monday,
    in ``TIME_ZONE``): the queue's 12-week chart reads twelve of these rows instead of
    counting every request of the last twelve weeks.

    Kept by the services in the transaction that receives or fulfils a request
    (``records.weeks``), so it always agrees with the requests; migration 0004 counted
    the requests there were. ``received`` counts by ``received_at`` (a request recorded
    late, from paper, counts in the week it arrived), ``fulfilled`` and ``on_time``
    (closed before ``due_at``) by ``closed_at``, as the chart always did.
    """

    starts = models.DateField(primary_key=True)
    received = models.PositiveIntegerField(default=0)
    fulfilled = models.PositiveIntegerField(default=0)
    on_time = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"Week of {self.starts}"
