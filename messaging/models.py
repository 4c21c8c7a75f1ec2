"""Threads, messages, attachments, notification deliveries and staff message templates.

Subject, body, attachment names and contents are encrypted (``encryption``); what is
clear is ids, states and times, which is what lists, deadlines and retention need.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from encryption.fields import EncryptedJSONField, EncryptedTextField
from encryption.models import EncryptedFile, EncryptedModel


class Category(models.TextChoices):
    CLINICAL = "clinical", _("Clinical")
    ADMINISTRATIVE = "administrative", _("Administrative")
    OTHER = "other", _("Other")


# ``Thread.patient_unread_until`` for an unopened message that never expires.
UNREAD_FOREVER = datetime(9999, 12, 31, tzinfo=UTC)


class Thread(EncryptedModel):
    """A conversation between a patient and their care team, under one encrypted subject.

    ``last_message_at`` stays empty while the thread holds only a draft, which keeps
    drafts out of every inbox. Assignment and "handled" are the care team's triage.

    ``patient_unread_until`` is the patient's "new" mark, kept with the messages by the
    services that send, open, recall and erase them (``services.threads_unread_recount``):
    until when the thread holds a message from the care team that the patient has not
    opened, the latest expiry among them (``UNREAD_FOREVER`` when one never expires);
    empty when there is none. The inbox compares it with the clock, so a message that
    expires stops counting on time with no write, and the list reads no message rows to
    know it (as other patients' messages pile up, the inbox stays as fast).
    """

    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="message_threads"
    )
    subject = EncryptedTextField(max_length=200)
    category = models.CharField(max_length=16, choices=Category.choices, default=Category.CLINICAL)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_message_at = models.DateTimeField(null=True, blank=True)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="assigned_threads",
        null=True,
        blank=True,
    )
    handled_at = models.DateTimeField(null=True, blank=True)
    patient_unread_until = models.DateTimeField(null=True, blank=True)
    # The care team's unread count: the patient's messages no one on the team has read
    # yet, kept by ``services.reply_send`` and ``services.thread_view_record``.
    staff_unread = models.PositiveIntegerField(default=0)
    # Staff mark a conversation confidential (a teenager's, for instance): it is the
    # patient's alone and never shown to anyone acting for them (``accounts.proxies``).
    confidential = models.BooleanField(default=False, db_default=False)

    class Meta:
        indexes = [
            # The patient's inbox: their threads, newest first (``selectors.patient_inbox``).
            models.Index(fields=["patient", "-last_message_at"], name="messaging_thread_patient"),
            models.Index(fields=["-last_message_at"], name="messaging_thread_recent"),
            # The staff inbox's open conversations, unread first (``selectors.staff_inbox``).
            models.Index(
                fields=["-staff_unread", "-last_message_at"],
                condition=models.Q(last_message_at__isnull=False, handled_at__isnull=True),
                name="messaging_thread_open",
            ),
            # The other views of the inbox of someone who sees every thread (the privacy
            # officer), in the same order: "all", and "handled" (most threads are).
            models.Index(
                fields=["-staff_unread", "-last_message_at"],
                condition=models.Q(last_message_at__isnull=False),
                name="messaging_thread_inbox",
            ),
            # A clinician's inbox starts from their care team: each patient's threads in
            # the inbox's order, so a page reads the team's threads, never everyone's.
            models.Index(
                fields=["patient", "-staff_unread", "-last_message_at"],
                condition=models.Q(last_message_at__isnull=False),
                name="messaging_thread_team",
            ),
            # "Mine": the threads assigned to the reader, open, in the inbox's order.
            models.Index(
                fields=["assigned_to", "-staff_unread", "-last_message_at"],
                condition=models.Q(last_message_at__isnull=False, handled_at__isnull=True),
                name="messaging_thread_assigned",
            ),
        ]

    def __str__(self) -> str:
        return f"Thread {self.pk}"


class MessageState(models.TextChoices):
    DRAFT = "draft", "Draft"
    SENT = "sent", "Sent"
    RECALLED = "recalled", "Recalled"


class Message(EncryptedModel):
    """One message in a thread, from staff to the patient or from the patient.

    ``send_key`` comes from the form that composed it, so a double click or a
    resubmitted form finds the message already sent instead of sending it twice.
    ``opened_at`` is the first opening on the patient's side, by the patient or a proxy
    acting for them (a recall is possible only before it), ``opened_by`` whose it was;
    ``staff_read_at`` is the care team's first reading of a patient's message.
    """

    thread = models.ForeignKey(Thread, on_delete=models.PROTECT, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    from_patient = models.BooleanField(default=False)
    body = EncryptedTextField()
    # The kinds of sensitive content the sender marked (``ContentCategory`` codes), sealed
    # with the body: which kind a patient's message holds is itself health information.
    # None when nothing was marked. The delivery decision keeps restricted kinds off e-mail.
    content_categories = EncryptedJSONField(null=True, blank=True)
    state = models.CharField(
        max_length=16, choices=MessageState.choices, default=MessageState.DRAFT
    )
    send_key = models.UUIDField(unique=True, default=uuid.uuid4)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    recalled_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    # Who opened it first: the patient, or a proxy acting for them (the staff page says
    # which); empty for openings before this was kept, and for a deleted account (the
    # page then names no one). Not indexed: nothing looks messages up by their opener.
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    staff_read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state__in=MessageState.values), name="messaging_message_state"
            ),
            models.CheckConstraint(
                condition=models.Q(state="draft") | models.Q(sent_at__isnull=False),
                name="messaging_message_sent_has_time",
            ),
        ]
        indexes = [
            # A thread's page: its newest messages, in the page's order (``thread_messages``).
            models.Index(fields=["thread", "created_at", "id"], name="messaging_message_page"),
            # The patient's "new" flag probes only the few messages not yet opened.
            models.Index(
                fields=["thread"],
                condition=models.Q(state="sent", from_patient=False, opened_at__isnull=True),
                name="messaging_message_unopened",
            ),
        ]

    def __str__(self) -> str:
        return f"Message {self.pk}"

    def is_expired(self, now: datetime | None = None) -> bool:
        return self.expires_at is not None and (now or timezone.now()) >= self.expires_at


class Attachment(models.Model):
    """A file on a message; its name, type and bytes are in the encrypted ``file``."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    file = models.OneToOneField(EncryptedFile, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position"]

    def __str__(self) -> str:
        return f"Attachment {self.pk}"


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    BOUNCED = "bounced", "Bounced"


class Channel(models.TextChoices):
    EMAIL = "email", "E-mail notice"
    LETTER = "letter", "Postal letter (the patient asked for postal mail only)"


class Delivery(models.Model):
    """One "you have a secure message" notice to a patient and what became of it.

    The worker claims a pending row with a conditional UPDATE and a lease
    (``claimed_until``), so two workers never send the same notice, and a worker killed
    mid-task only delays it: the sweep re-enqueues the row once the lease has passed.
    ``next_attempt_at`` spaces retries out; after the last one the delivery fails.
    The address is not stored: the notice goes to the account's current, confirmed one.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    message = models.ForeignKey(Message, on_delete=models.PROTECT, related_name="deliveries")
    # 45 CFR 164.522(b): a patient who asked not to be e-mailed gets a letter instead; a
    # letter stays pending until staff print it, and no e-mail worker ever claims it.
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.EMAIL)
    state = models.CharField(
        max_length=16, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_until = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    failure = models.CharField(max_length=64, blank=True)  # a code, never a server's text
    resend_requested_at = models.DateTimeField(null=True, blank=True)
    replaced_by = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="replaces"
    )
    letter_printed_at = models.DateTimeField(null=True, blank=True)
    # How the content reached the patient (``messaging.content_delivery``): portal pickup
    # (this row is then the notice), or an e-mail method that carried the message itself.
    method = models.CharField(max_length=16, default="portal")
    # When an e-mail method was wanted but portal pickup was used: the plain reason the
    # sender reads on the thread (a text written by us, never a server's reply).
    fallback_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state__in=DeliveryState.values), name="messaging_delivery_state"
            )
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(state="pending"),
                name="messaging_delivery_due",
            ),
            # The failed notices not replaced, few however many were sent: the staff home's
            # count of threads with one (``selectors.staff_queue``) reads these only.
            models.Index(
                fields=["message"],
                condition=models.Q(state__in=["failed", "bounced"], replaced_by__isnull=True),
                name="messaging_delivery_failed",
            ),
        ]

    def __str__(self) -> str:
        return f"Delivery {self.pk}"

    @property
    def has_failed(self) -> bool:
        return self.state in (DeliveryState.FAILED, DeliveryState.BOUNCED)


class ProxyNotice(models.Model):
    """The "a secure message is waiting" notice to a proxy who reads the patient's
    messages (45 CFR 164.502(g): the personal representative stands for the patient).

    Made with the message, one per proxy whose link in force then lets them read messages
    (never for a confidential conversation); the task sends it once, after checking again
    that the link still reaches the patient's messages and the thread is still open to
    proxies (``ended`` says why one was not sent). Like ``Delivery`` it holds no address
    and no word of the message: the e-mail names neither the patient nor the subject.
    A separate row, not a ``Delivery``: a delivery is the patient's own channel (content
    by e-mail, letters, bounces and resends to a corrected address), none of which
    applies to someone acting for them.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    message = models.ForeignKey(Message, on_delete=models.PROTECT, related_name="proxy_notices")
    proxy = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # Why it was not sent: a code ("link_ended", "confidential", "smtp_550"), never a
    # server's text.
    ended = models.CharField(max_length=32, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message", "proxy"], name="messaging_proxy_notice_once")
        ]
        indexes = [
            # The sweep's unsent notices, few however many went out.
            models.Index(
                fields=["created_at"],
                condition=models.Q(sent_at__isnull=True, ended_at__isnull=True),
                name="messaging_proxy_notice_due",
            )
        ]

    def __str__(self) -> str:
        return f"Proxy notice {self.pk}"


class WebhookReceipt(models.Model):
    """Each accepted bounce report's signature, so a replayed call is refused."""

    signature = models.CharField(max_length=64, unique=True)
    received_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Webhook receipt #{self.pk}"


class MessageTemplate(models.Model):
    """Reusable wording that staff start a message from. Boilerplate, never about a patient,
    so it is stored in clear; it is rendered through the same sanitizer as any body."""

    title = models.CharField(max_length=120)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField(max_length=20000)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class GuestPackage(EncryptedModel):
    """Information sent to a third party named in the patient's authorization, picked up
    without an account.

    The recipient gets a link (only its hash, ``link_hash``, is stored) that works in one
    browser: the first opening binds it (``browser_hash``); then a one-time code sent to
    the same address (``code_hash``, ``code_expires_at``, ``code_attempts``; too many
    wrong codes set ``locked_at``) unlocks this one package until ``expires_at``, a
    recall, or the authorization no longer covering it. Sending it is a disclosure
    (``disclosure``), written in the same transaction as the package.
    """

    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="guest_packages"
    )
    authorization = models.ForeignKey(
        "consent.Authorization", on_delete=models.PROTECT, related_name="guest_packages"
    )
    disclosure = models.OneToOneField(
        "consent.Disclosure", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recipient_name = EncryptedTextField(max_length=200)
    recipient_email = EncryptedTextField(max_length=254)
    subject = EncryptedTextField(max_length=200)
    body = EncryptedTextField(blank=True)
    content_categories = EncryptedJSONField(null=True, blank=True)  # as on a Message
    purpose = models.CharField(max_length=32)
    categories = ArrayField(models.CharField(max_length=32))
    records_from = models.DateField(null=True, blank=True)
    records_to = models.DateField(null=True, blank=True)
    send_key = models.UUIDField(unique=True, default=uuid.uuid4)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    recalled_at = models.DateTimeField(null=True, blank=True)
    recalled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    link_hash = models.CharField(max_length=64, blank=True)
    link_sent_at = models.DateTimeField(null=True, blank=True)
    link_opened_at = models.DateTimeField(null=True, blank=True)
    browser_hash = models.CharField(max_length=64, blank=True)
    code_hash = models.CharField(max_length=64, blank=True)
    code_sent_at = models.DateTimeField(null=True, blank=True)
    code_expires_at = models.DateTimeField(null=True, blank=True)
    code_attempts = models.PositiveSmallIntegerField(default=0)
    locked_at = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    first_viewed_at = models.DateTimeField(null=True, blank=True)
    # How it reached the recipient: the pickup link (``portal``) or the content itself by
    # TLS-verified e-mail (``tls_email``, when the policy allows it for third parties);
    # ``fallback_reason`` says why a wanted TLS e-mail became the link.
    delivered_by = models.CharField(max_length=16, default="portal")
    fallback_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["patient", "-created_at"], name="messaging_guest_patient"),
            models.Index(
                fields=["created_at"],
                condition=models.Q(link_sent_at__isnull=True, recalled_at__isnull=True),
                name="messaging_guest_unsent",
            ),
        ]

    def __str__(self) -> str:
        return f"Guest package {self.pk}"


class GuestAttachment(models.Model):
    """A file in a guest package; its name, type and bytes are in the encrypted ``file``."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    package = models.ForeignKey(GuestPackage, on_delete=models.CASCADE, related_name="attachments")
    file = models.OneToOneField(EncryptedFile, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position"]

    def __str__(self) -> str:
        return f"Guest attachment {self.pk}"


# --- delivery methods: the organisation's policy and the patient's preference ---------------


class DeliveryMethod(models.TextChoices):
    """How content leaves (DESIGN: Delivery). Stable codes: audited and stored."""

    PORTAL = "portal", _("Pickup in the portal")
    TLS_EMAIL = "tls_email", _("Secure e-mail")
    PROTECTED_PDF = "protected_pdf", _("E-mail with a locked document")
    PLAIN_EMAIL = "plain_email", _("Ordinary e-mail")


class ContentCategory(models.TextChoices):
    """Kinds of content an organisation may keep off every e-mail method. The composer
    supplies these codes with the content; the policy lists the ones that never leave by
    e-mail. Codes stay clear (no health information: a kind, never what it says)."""

    # 45 CFR 164.508(a)(2): psychotherapy notes need their own authorization.
    PSYCHOTHERAPY_NOTES = "psychotherapy_notes", "Psychotherapy notes"
    # 42 CFR Part 2: substance use disorder treatment records.
    SUBSTANCE_USE = "substance_use_part2", "Substance use treatment records (42 CFR Part 2)"
    HIV_STI = "hiv_sti", "HIV and sexually transmitted infection results"
    GENETIC = "genetic", "Genetic test results"
    REPRODUCTIVE = "reproductive", "Reproductive health care"


MIB = 1024 * 1024
DEFAULT_EMAIL_MAX_BYTES = 10 * MIB
DEFAULT_RESTRICTED = [ContentCategory.PSYCHOTHERAPY_NOTES, ContentCategory.SUBSTANCE_USE]


def default_restricted() -> list[str]:
    return [str(c) for c in DEFAULT_RESTRICTED]


class DeliveryPolicy(models.Model):
    """The organisation's delivery policy: one row (``id`` 1), edited by the privacy
    officer. Until it is first saved the unsaved defaults apply: portal only, every
    e-mail method off, 10 MiB, psychotherapy notes and Part 2 records never by e-mail,
    no e-mail to third parties. Portal pickup is always on, so it has no switch."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    tls_email = models.BooleanField(default=False)
    protected_pdf = models.BooleanField(default=False)
    plain_email = models.BooleanField(default=False)
    email_max_bytes = models.PositiveIntegerField(default=DEFAULT_EMAIL_MAX_BYTES)
    restricted_categories = ArrayField(
        models.CharField(max_length=32, choices=ContentCategory.choices),
        default=default_restricted,
        blank=True,
    )
    third_party_tls = models.BooleanField(default=False)
    updated_at = models.DateTimeField(null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="messaging_delivery_policy_one"),
            models.CheckConstraint(
                condition=models.Q(email_max_bytes__gt=0), name="messaging_delivery_max_positive"
            ),
        ]

    def __str__(self) -> str:
        return "Delivery policy"

    @property
    def enabled_methods(self) -> frozenset[str]:
        """Portal pickup is always enabled."""
        switches = {
            DeliveryMethod.TLS_EMAIL: self.tls_email,
            DeliveryMethod.PROTECTED_PDF: self.protected_pdf,
            DeliveryMethod.PLAIN_EMAIL: self.plain_email,
        }
        return frozenset(
            {str(DeliveryMethod.PORTAL)} | {str(m) for m, on in switches.items() if on}
        )


class DeliveryPreference(models.Model):
    """How a patient asks to receive content (not notices: those are
    ``consent.CommunicationPreference``). Only a method the policy enables counts; the
    delivery decision falls back to portal pickup for anything else."""

    patient = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="delivery_preference"
    )
    method = models.CharField(
        max_length=16, choices=DeliveryMethod.choices, default=DeliveryMethod.PORTAL
    )
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    def __str__(self) -> str:
        return f"Delivery preference {self.pk}"


class DocumentPassword(EncryptedModel):
    """The password a patient chose for the locked (password-protected) PDFs we e-mail them.

    Encrypted, not hashed: unlike a sign-in password, which is only ever compared, this
    one must be read back by the delivery worker to lock each PDF with it, so a one-way
    hash would make it useless. It is encrypted with its own data key like any health
    record (a database dump, a backup or the admin shows only ciphertext), never shown to
    anyone after it is set, and removing it deletes the row, which shreds its key. When
    retention destroys the key, the value is unreadable like every other encrypted field
    and the delivery decision falls back to portal pickup.
    """

    patient = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="document_password"
    )
    password = EncryptedTextField(max_length=4096)
    set_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Document password {self.pk}"


class OneTimePassword(EncryptedModel):
    """A one-time password staff read out for one message sent as a locked PDF.

    Shown once on the sender's screen, read once by the delivery worker to lock the PDF
    (``messaging.document_passwords.one_time_password_consume`` deletes the row, which
    shreds its key). Encrypted, not hashed, for the same reason as ``DocumentPassword``:
    the worker needs the value itself.
    """

    message = models.OneToOneField(
        "messaging.Message", on_delete=models.CASCADE, related_name="one_time_password"
    )
    password = EncryptedTextField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    def __str__(self) -> str:
        return f"One-time password {self.pk}"


class TransmissionOutcome(models.TextChoices):
    SENT = "sent", "Sent"
    FELL_BACK = "fell_back", "Fell back to portal pickup"
    RETRY = "retry", "To be tried again"
    FAILED = "failed", "Failed"


class Transmission(models.Model):
    """One attempt to deliver a message's content by an e-mail method, and its outcome:
    the transmission log (DESIGN: Delivery; 45 CFR 164.312(e)(1)). The content is a
    message to its patient (``delivery``, ``message``) or a package to a third party
    (``guest_package``).

    Written by ``messaging.content_delivery`` only, never updated or deleted there: a
    retry is a new row. ``method`` is what the decision chose and was tried (portal when
    the decision itself chose it), ``wanted`` what was asked for; ``fell_back`` means
    portal pickup carried the message instead. ``reason`` is the decision's plain
    sentence and ``code`` a stable code (an SMTP status, a TLS refusal, ``no_password``;
    for a locked PDF sent, which password locked it: ``document_password`` or
    ``one_time_password``, never its value); neither holds health information or an
    address. For TLS e-mail the host whose certificate was verified, the TLS version, the
    cipher and the certificate's SHA-256; for ordinary e-mail the
    version of the risk statement the patient's waiver accepted.
    """

    # A message's delivery to its patient, or a package to a third party: one of the two.
    delivery = models.ForeignKey(
        Delivery, on_delete=models.PROTECT, null=True, blank=True, related_name="transmissions"
    )
    message = models.ForeignKey(
        Message, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    guest_package = models.ForeignKey(
        GuestPackage, on_delete=models.PROTECT, null=True, blank=True, related_name="transmissions"
    )
    method = models.CharField(max_length=16, choices=DeliveryMethod.choices)
    wanted = models.CharField(max_length=16, choices=DeliveryMethod.choices)
    reason = models.CharField(max_length=300)
    outcome = models.CharField(max_length=16, choices=TransmissionOutcome.choices)
    code = models.CharField(max_length=64, blank=True)
    mx_host = models.CharField(max_length=255, blank=True)
    tls_version = models.CharField(max_length=16, blank=True)
    cipher = models.CharField(max_length=100, blank=True)
    certificate_sha256 = models.CharField(max_length=64, blank=True)
    via_relay = models.BooleanField(default=False)
    statement_version = models.PositiveIntegerField(null=True, blank=True)
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["recorded_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(outcome__in=TransmissionOutcome.values),
                name="messaging_transmission_outcome",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(delivery__isnull=False, message__isnull=False, guest_package=None)
                    | models.Q(delivery=None, message=None, guest_package__isnull=False)
                ),
                name="messaging_transmission_one_subject",
            ),
        ]

    def __str__(self) -> str:
        return f"Transmission {self.pk}"
