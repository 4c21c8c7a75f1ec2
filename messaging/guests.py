"""Guest pickup: information for a third party named in the patient's authorization.

Sending is a disclosure (45 CFR 164.508(a)(1)): ``consent.decision.disclosure_decide`` is
asked first and a refusal stores and sends nothing; a send writes the package, its
encrypted files and the accounting entry (164.528) in one transaction. The recipient has
no account. When the organisation's delivery policy allows TLS-verified e-mail to third
parties, the package itself goes that way (``content_delivery.guest_content_deliver``);
otherwise, or when it cannot go protected, they get an e-mail without health information
and a link that works once,
in one browser; a one-time code sent to the same address on request (6 digits, 10
minutes, 5 wrong codes in total lock the link) then opens this one package, in this
one browser session, until it expires, the sender recalls it, or the authorization no
longer covers it. The decision is asked again on every open, code, view and download,
so a revocation or an authorization's expiry takes effect at once (164.508(b)(5)).

Secrets: the link's nonce, the browser key and the code are stored as hashes only; the
link secret and the code are made inside the Celery task that e-mails them, so they are
never task arguments. Audit events name ids and codes, never the recipient.

This module sends (and recalls); the recipient's side is ``messaging.guest_pickup`` and
the staff's reads are in ``messaging.selectors``.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from accounts.models import Role, User
from audit.services import event_record
from consent.decision import Decision, disclosure_decide
from consent.models import Authorization
from consent.services import decision_refusal_record, disclosure_record
from encryption.models import EncryptedFile
from encryption.uploads import CheckedUpload
from messaging import policies
from messaging.actions import MessagingAction
from messaging.errors import MessagingError
from messaging.models import GuestAttachment, GuestPackage
from messaging.services import (
    _attachments_within_total,
    _erase,
    _store,
    content_categories_check,
    subject_guard,
)

# settings.GUEST_PICKUP_DAYS wins when it is defined; the default otherwise.
GUEST_PICKUP_DAYS = 14
CODE_DIGITS = 6
CODE_LIFETIME = timedelta(minutes=10)
MAX_CODE_ATTEMPTS = 5  # in total, across every code sent for the package
CODE_RESEND_INTERVAL = timedelta(seconds=60)
UNSENT_LINK_GRACE = timedelta(minutes=2)

_LINK_SALT = "messaging.guests.link"
_CODE_SALT = "messaging.guests.code"

# The guest's session: which package it is bound to, and whether a code was verified in
# this session (verification does not carry over to another session or browser).
SESSION_PACKAGE = "guest_package_id"
SESSION_VERIFIED = "guest_verified_package_id"
SESSION_SEEN = "guest_seen_at"
BROWSER_COOKIE = "guest_browser"

# What the recipient is told, by refusal code. 404 for "nothing here", 410 for the rest.
REFUSALS = {
    "invalid": _("This link is not valid. Check that you copied the whole link from the e-mail."),
    "no_access": _("Open the link from your e-mail in this browser first."),
    "used": _(
        "This link has already been used. It works once, in the browser that opened it first."
    ),
    "expired": _("This information has expired and can no longer be opened."),
    "recalled": _("The sender has taken this information back."),
    "revoked": _("This information is no longer available to you."),
    "locked": _(
        "Too many wrong codes were entered, so this link is locked for good. "
        "Ask the sender to send the information again."
    ),
}
NOT_FOUND_CODES = frozenset({"invalid", "no_access"})

logger = logging.getLogger(__name__)


class GuestSendRefused(MessagingError):
    """The disclosure decision said no; ``decision.explanation`` lists why, for the sender."""

    def __init__(self, decision: Decision) -> None:
        super().__init__("not_authorized", " ".join(decision.explanation))
        self.decision = decision


class GuestRefused(MessagingError):
    """The recipient may not (or no longer) open the package; ``code`` is a key of REFUSALS."""

    def __init__(self, code: str) -> None:
        super().__init__(code, str(REFUSALS[code]))  # in the reader's language

    @property
    def status(self) -> int:
        return 404 if self.code in NOT_FOUND_CODES else 410


class GuestCodeRefused(MessagingError):
    """A code that did not open the package: ``wrong`` (with attempts left) or ``expired``."""

    def __init__(self, code: str, message: str, attempts_left: int) -> None:
        super().__init__(code, message)
        self.attempts_left = attempts_left


def pickup_days() -> int:
    return int(getattr(settings, "GUEST_PICKUP_DAYS", GUEST_PICKUP_DAYS))


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _code_hash(package_id: Any, code: str) -> str:
    # Keyed: six digits are a million guesses, which a plain hash would not resist offline.
    return salted_hmac(_CODE_SALT, f"{package_id}:{code}", algorithm="sha256").hexdigest()


# --- sending ------------------------------------------------------------------------------


def guest_package_send(
    *,
    actor: User,
    patient: User,
    recipient_email: str,
    recipient_name: str,
    purpose: str,
    categories: Sequence[str],
    records_from: date | None = None,
    records_to: date | None = None,
    subject: str,
    body: str,
    attachments: Sequence[CheckedUpload],
    send_key: uuid.UUID,
    warnings_acknowledged: bool = False,
    content_categories: Sequence[str] = (),
) -> GuestPackage:
    """Send a package to a third party, if an authorization covers it. Idempotent on
    ``send_key``: the same key returns the package already sent, and sends nothing more.

    A refusal is audited with its reasons (in its own transaction, so it stays on
    record) and raises ``GuestSendRefused``; nothing is stored and nothing is sent.
    """
    if not policies.may_message(actor, patient):
        raise MessagingError("not_on_care_team", "You cannot send information about this patient.")
    existing = GuestPackage.objects.filter(send_key=send_key).first()
    if existing is not None:
        if existing.created_by_id != actor.pk or existing.patient_id != patient.pk:
            raise MessagingError("not_yours", "This package belongs to someone else.")
        return existing
    content_categories_check(content_categories)
    # The subject is shown to the recipient and in staff lists: the staff composer's guard.
    subject_guard(
        actor=actor,
        patient=patient,
        subject=subject,
        acknowledged=warnings_acknowledged,
        channel="guest_package",
    )
    wanted: dict[str, Any] = {
        "recipient_email": recipient_email.strip(),
        "purpose": purpose,
        "categories": list(categories),
        "records_from": records_from,
        "records_to": records_to,
    }
    decision = disclosure_decide(patient_id=patient.pk, **wanted)
    if not decision.allowed:
        _refuse(actor=actor, patient=patient, decision=decision)
    _attachments_within_total(None, attachments)
    stored: list[EncryptedFile] = []
    try:
        for upload in attachments:
            stored.append(_store(upload))
        with transaction.atomic():
            package = _send_in_transaction(
                actor=actor,
                patient=patient,
                wanted=wanted,
                recipient_name=recipient_name.strip(),
                subject=subject,
                body=body,
                content_categories=sorted(set(content_categories)) or None,
                files=stored,
                send_key=send_key,
            )
    except _RefusedMeanwhile as refused:
        _erase(stored)
        _refuse(actor=actor, patient=patient, decision=refused.decision)
    except IntegrityError:
        _erase(stored)  # a concurrent submit with the same key won the race
        winner = GuestPackage.objects.filter(send_key=send_key, created_by=actor).first()
        if winner is None:
            raise
        return winner
    except BaseException:
        _erase(stored)
        raise
    return package


class _RefusedMeanwhile(Exception):
    """The authorization changed between the first decision and the transaction."""

    def __init__(self, decision: Decision) -> None:
        super().__init__("refused")
        self.decision = decision


def _refuse(*, actor: User, patient: User, decision: Decision) -> Any:
    decision_refusal_record(
        actor=actor, patient_id=patient.pk, decision=decision, channel="guest_package"
    )
    raise GuestSendRefused(decision)


def _send_in_transaction(
    *,
    actor: User,
    patient: User,
    wanted: dict[str, Any],
    recipient_name: str,
    subject: str,
    body: str,
    content_categories: list[str] | None,
    files: Sequence[EncryptedFile],
    send_key: uuid.UUID,
) -> GuestPackage:
    # Lock the covering authorization, then decide again: a revocation committing meanwhile
    # (it takes the same row lock) lands either before this decision or after the disclosure.
    decision = disclosure_decide(patient_id=patient.pk, **wanted)
    if decision.authorization is not None:
        list(Authorization.objects.select_for_update().filter(pk=decision.authorization.pk))
        decision = disclosure_decide(patient_id=patient.pk, **wanted)
    if not decision.allowed or decision.authorization is None:
        raise _RefusedMeanwhile(decision)
    now = timezone.now()
    package = GuestPackage.objects.create(
        patient=patient,
        authorization=decision.authorization,
        created_by=actor,
        recipient_name=recipient_name,
        recipient_email=wanted["recipient_email"],
        subject=subject,
        body=body,
        content_categories=content_categories,
        purpose=wanted["purpose"],
        categories=wanted["categories"],
        records_from=wanted["records_from"],
        records_to=wanted["records_to"],
        send_key=send_key,
        created_at=now,
        expires_at=now + timedelta(days=pickup_days()),
    )
    GuestAttachment.objects.bulk_create(
        GuestAttachment(package=package, file=record, position=i) for i, record in enumerate(files)
    )
    count = len(files)
    disclosure = disclosure_record(
        actor=actor,
        decision=decision,
        source=package,
        recipient_name=recipient_name,
        recipient_address=wanted["recipient_email"],
        description=f"{subject}, with {count} attachment{'' if count == 1 else 's'}",
        purpose=wanted["purpose"],
        categories=wanted["categories"],
    )
    package.disclosure = disclosure
    package.save(update_fields=["disclosure"])
    event_record(
        action=MessagingAction.GUEST_PACKAGE_SENT,
        target=package,
        actor=actor,
        patient_id=patient.pk,
        details={
            "authorization_id": str(decision.authorization.pk),
            "disclosure_id": str(disclosure.pk),
            "purpose": wanted["purpose"],
            "categories": wanted["categories"],
            "attachments": count,
        },
    )
    from messaging.tasks import guest_link_send

    package_id = str(package.pk)
    # robust: a broker outage must not undo the send; the sweep sends the link later.
    transaction.on_commit(lambda: guest_link_send.delay(package_id), robust=True)
    return package


@transaction.atomic
def guest_package_recall(*, actor: User, package: GuestPackage) -> GuestPackage:
    """The sender (or the privacy officer) withdraws the package: it stops opening at once,
    even in a session that already verified its code. The disclosure stays on record."""
    locked = GuestPackage.objects.select_for_update().get(pk=package.pk)
    if locked.created_by_id != actor.pk and actor.role != Role.PRIVACY_OFFICER:
        raise MessagingError("not_sender", "Only the sender or the privacy officer can recall it.")
    if locked.recalled_at is not None:
        return locked  # a second click changes nothing
    locked.recalled_at, locked.recalled_by = timezone.now(), actor
    locked.save(update_fields=["recalled_at", "recalled_by"])
    event_record(
        action=MessagingAction.GUEST_PACKAGE_RECALLED,
        target=locked,
        actor=actor,
        patient_id=locked.patient_id,
    )
    return locked


# --- the e-mails (called by the tasks) ------------------------------------------------------


def guest_link_deliver(*, package_id: str) -> bool:
    """Make the link's secret, store its hash, e-mail the link. Returns whether it went.

    Idempotent: a package whose link went out, or that can no longer be opened, gets
    nothing. A retry after a failed send makes a new secret (the old one never left).

    The secret, its hash, the send and ``link_sent_at`` happen under the package's row
    lock: a second task (the sweep re-enqueues while SMTP is failing) waits, then finds
    the link sent. Without it a later task could overwrite the hash while an earlier
    e-mail was still going out, leaving the recipient a link that never works. One
    e-mail (EMAIL_TIMEOUT_SECONDS at most) is short enough to hold the lock for.
    """
    from accounts.tasks import email_send

    with transaction.atomic():
        package = GuestPackage.objects.select_for_update().filter(pk=package_id).first()
        if (
            package is None
            or package.link_sent_at is not None
            or package_refusal(package) is not None
        ):
            return False
        from messaging.content_delivery import guest_content_deliver

        if guest_content_deliver(package):
            return True  # the package itself went, by verified TLS: no link to pick it up
        nonce = secrets.token_urlsafe(32)
        GuestPackage.objects.filter(pk=package.pk).update(link_hash=_sha256(nonce))
        token = signing.dumps({"g": str(package.pk), "n": nonce}, salt=_LINK_SALT)
        # A failed send raises and rolls the hash back: that secret never left.
        email_send(
            to=package.recipient_email,
            template="messaging/email/guest_link",
            context={
                "link": settings.PORTAL_BASE_URL + reverse(settings.GUEST_PICKUP_URL, args=[token]),
                "expires_on": timezone.localtime(package.expires_at).date(),
                "code_minutes": int(CODE_LIFETIME.total_seconds() // 60),
            },
        )
        GuestPackage.objects.filter(pk=package.pk).update(link_sent_at=timezone.now())
        event_record(
            action=MessagingAction.GUEST_LINK_SENT, target=package, patient_id=package.patient_id
        )
    return True


def guest_code_deliver(*, package_id: str) -> bool:
    """Make a new code (the previous one stops working), store its keyed hash, e-mail it."""
    package = GuestPackage.objects.filter(pk=package_id).first()
    if package is None or package.link_opened_at is None or package_refusal(package) is not None:
        return False
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    GuestPackage.objects.filter(pk=package.pk).update(
        code_hash=_code_hash(package.pk, code), code_expires_at=timezone.now() + CODE_LIFETIME
    )
    from accounts.tasks import email_send

    email_send(
        to=package.recipient_email,
        template="messaging/email/guest_code",
        context={"code": code, "minutes": int(CODE_LIFETIME.total_seconds() // 60)},
    )
    event_record(
        action=MessagingAction.GUEST_CODE_SENT, target=package, patient_id=package.patient_id
    )
    return True


def guest_links_resend_unsent(*, older_than: timedelta = UNSENT_LINK_GRACE) -> int:
    """Re-enqueue the links that never went out (a broker outage); returns how many."""
    from messaging.tasks import guest_link_send

    now = timezone.now()
    pending = GuestPackage.objects.filter(
        link_sent_at__isnull=True,
        recalled_at__isnull=True,
        locked_at__isnull=True,
        created_at__lt=now - older_than,
        expires_at__gt=now,
    ).values_list("pk", flat=True)
    count = 0
    for pk in pending:
        guest_link_send.delay(str(pk))
        count += 1
    return count


# --- whether a package can be picked up now (the sending side and guest_pickup ask) ----


def package_refusal(package: GuestPackage, now: datetime | None = None) -> str | None:
    """Why the package cannot be opened now, or None. The decision is asked again: a
    revocation or an expired authorization ends access from that second on."""
    now = now or timezone.now()
    if package.is_erased:  # purged under the retention policy: told like an expired link
        return "expired"
    if package.recalled_at is not None:
        return "recalled"
    if package.locked_at is not None:
        return "locked"
    if package.expires_at <= now:
        return "expired"
    decision = disclosure_decide(
        patient_id=package.patient_id,
        recipient_email=package.recipient_email,
        purpose=package.purpose,
        categories=package.categories,
        records_from=package.records_from,
        records_to=package.records_to,
        at=now,
    )
    return None if decision.allowed else "revoked"


def guest_composer_open_record(*, actor: User, patient: User) -> None:
    event_record(
        action=MessagingAction.GUEST_COMPOSER_OPENED,
        target=patient,
        actor=actor,
        patient_id=patient.pk,
    )


def guest_packages_list_record(*, actor: User, patient: User, count: int) -> None:
    event_record(
        action=MessagingAction.GUEST_PACKAGES_LISTED,
        target_type="messaging.guestpackage",
        actor=actor,
        patient_id=patient.pk,
        details={"shown": count},
    )
