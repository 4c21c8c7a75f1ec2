"""Compliance writes: publishing and acknowledging workforce policies, and keeping the
business associates register. Each function does the whole change with its audit event.

Renewal alerts are in ``compliance.alerts``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from accounts.models import Actor
from audit.services import event_record
from compliance.actions import ComplianceAction
from compliance.errors import ComplianceError
from compliance.models import (
    AssociateAgreement,
    BusinessAssociate,
    PolicyAcknowledgement,
    PolicyDocument,
)
from compliance.policies import acknowledges_policies
from compliance.selectors import current_policies_forget
from encryption.files import file_store
from encryption.models import EncryptedFile
from encryption.uploads import CheckedUpload

# --- workforce policies -----------------------------------------------------------------------


def policy_publish(*, actor: Actor, kind: str, title: str, text: str) -> PolicyDocument:
    """Publish the next version of ``kind``; the one it supersedes stops being current, so
    every member of staff (the publisher too) must acknowledge the new one."""
    with transaction.atomic():
        # The current version's row, locked: two officers publishing at once get 1 and 2.
        current = (
            PolicyDocument.objects.select_for_update()
            .filter(kind=kind, superseded_at__isnull=True)
            .first()
        )
        last = PolicyDocument.objects.filter(kind=kind).aggregate(v=Max("version"))["v"] or 0
        now = timezone.now()
        if current is not None:
            current.superseded_at = now
            current.save(update_fields=["superseded_at"])
        document = PolicyDocument.objects.create(
            kind=kind,
            version=last + 1,
            title=title,
            text=text,
            published_at=now,
            published_by=actor,
        )
        event_record(
            actor=actor,
            action=ComplianceAction.POLICY_PUBLISHED,
            target=document,
            details={
                "kind": kind,
                "version": document.version,
                "supersedes": current.pk if current is not None else None,
            },
        )
        transaction.on_commit(current_policies_forget)
    current_policies_forget()  # now too: inside an outer transaction, on_commit waits
    return document


def policy_acknowledge(*, actor: Actor, document: PolicyDocument) -> PolicyAcknowledgement:
    """``actor`` read and understood this version. Only the current version can be
    acknowledged (a page left open while a new one was published is refused, so nobody
    is recorded as agreeing to a text that no longer applies). Twice is once."""
    if not acknowledges_policies(actor):
        raise ComplianceError("not_workforce", "Only staff acknowledge workforce policies.")
    with transaction.atomic():
        locked = PolicyDocument.objects.select_for_update().get(pk=document.pk)
        if not locked.is_current:
            raise ComplianceError(
                "superseded",
                "A newer version of this policy was published while you were reading. "
                "Please read the new version.",
            )
        existing = PolicyAcknowledgement.objects.filter(user=actor, document=locked).first()
        if existing is not None:
            return existing
        acknowledgement = PolicyAcknowledgement.objects.create(user=actor, document=locked)
        event_record(
            actor=actor,
            action=ComplianceAction.POLICY_ACKNOWLEDGED,
            target=locked,
            details={"kind": locked.kind, "version": locked.version},
        )
    return acknowledgement


def policy_read_record(*, actor: Actor, document: PolicyDocument) -> None:
    """A member of staff was shown a policy to acknowledge."""
    event_record(
        actor=actor,
        action=ComplianceAction.POLICY_READ,
        target=document,
        details={"kind": document.kind, "version": document.version},
    )


def policies_list_record(*, actor: Actor, shown: int) -> None:
    event_record(actor=actor, action=ComplianceAction.POLICIES_LISTED, details={"shown": shown})


def policy_view_record(*, actor: Actor, document: PolicyDocument) -> None:
    """The privacy officer opened a version and who has (and has not) acknowledged it."""
    event_record(
        actor=actor,
        action=ComplianceAction.POLICY_VIEWED,
        target=document,
        details={"kind": document.kind, "version": document.version},
    )


# --- business associates ----------------------------------------------------------------------


def _dates_check(*, signed_on: date, renewal_on: date) -> None:
    if signed_on > timezone.localdate():
        raise ComplianceError("future_signature", "The signing date cannot be in the future.")
    if renewal_on <= signed_on:
        raise ComplianceError("renewal_before_signing", "The renewal date must follow signing.")


def _store(upload: CheckedUpload) -> EncryptedFile:
    return file_store(source=upload.reader(), name=upload.name, content_type=upload.content_type)


@contextmanager
def _agreement_scan(
    scan: CheckedUpload, *, signed_on: date, renewal_on: date
) -> Iterator[EncryptedFile]:
    """The dates checked and the scan stored; the caller's writes run in one transaction,
    and the stored scan is erased if they fail."""
    _dates_check(signed_on=signed_on, renewal_on=renewal_on)
    stored = _store(scan)
    try:
        with transaction.atomic():
            yield stored
    except BaseException:
        stored.delete()
        raise


def _agreement_record(
    *,
    actor: Actor,
    associate: BusinessAssociate,
    action: str,
    signed_on: date,
    renewal_on: date,
    scan: EncryptedFile,
) -> AssociateAgreement:
    agreement = AssociateAgreement.objects.create(
        associate=associate,
        signed_on=signed_on,
        renewal_on=renewal_on,
        scan=scan,
        recorded_by=actor,
    )
    event_record(
        actor=actor,
        action=action,
        target=associate,
        details={"agreement_id": agreement.pk, "renewal_on": renewal_on.isoformat()},
    )
    return agreement


def associate_add(
    *,
    actor: Actor,
    name: str,
    service: str,
    signed_on: date,
    renewal_on: date,
    scan: CheckedUpload,
) -> BusinessAssociate:
    """Add a vendor to the register with its signed agreement (the scan encrypted)."""
    with _agreement_scan(scan, signed_on=signed_on, renewal_on=renewal_on) as stored:
        associate = BusinessAssociate.objects.create(name=name, service=service, added_by=actor)
        _agreement_record(
            actor=actor,
            associate=associate,
            action=ComplianceAction.ASSOCIATE_ADDED,
            signed_on=signed_on,
            renewal_on=renewal_on,
            scan=stored,
        )
    return associate


def associate_renew(
    *,
    actor: Actor,
    associate: BusinessAssociate,
    signed_on: date,
    renewal_on: date,
    scan: CheckedUpload,
) -> AssociateAgreement:
    """Record a renewed (or amended) agreement; it becomes the current one."""
    if associate.ended_on is not None:
        raise ComplianceError("ended", "This business associate's agreement has ended.")
    with _agreement_scan(scan, signed_on=signed_on, renewal_on=renewal_on) as stored:
        return _agreement_record(
            actor=actor,
            associate=associate,
            action=ComplianceAction.ASSOCIATE_RENEWED,
            signed_on=signed_on,
            renewal_on=renewal_on,
            scan=stored,
        )


def associate_end(*, actor: Actor, associate: BusinessAssociate, ended_on: date) -> None:
    """The organisation no longer uses this vendor: no more renewal alerts; kept listed."""
    with transaction.atomic():
        updated = BusinessAssociate.objects.filter(pk=associate.pk, ended_on__isnull=True).update(
            ended_on=ended_on, ended_by=actor
        )
        if not updated:
            raise ComplianceError("ended", "This business associate's agreement has ended.")
        event_record(
            actor=actor,
            action=ComplianceAction.ASSOCIATE_ENDED,
            target=associate,
            details={"ended_on": ended_on.isoformat()},
        )
    associate.refresh_from_db()


def associates_list_record(*, actor: Actor, shown: int) -> None:
    event_record(actor=actor, action=ComplianceAction.ASSOCIATES_LISTED, details={"shown": shown})


def agreement_download_record(*, actor: Actor, agreement: AssociateAgreement) -> None:
    event_record(
        actor=actor,
        action=ComplianceAction.AGREEMENT_DOWNLOADED,
        target=agreement.associate,
        details={"agreement_id": agreement.pk},
    )
