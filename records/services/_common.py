"""What every records service shares: refusals (audited after rollback), locks, guards."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import NoReturn, ParamSpec, TypeVar

from accounts.models import User
from audit.models import Outcome
from audit.services import event_record
from encryption.files import file_chunks
from encryption.models import EncryptedFile
from records import policies
from records.actions import RecordsAction
from records.errors import RecordsError
from records.models import (
    RecordRequest,
)
from records.policies import Refusal

PDF = "application/pdf"
P = ParamSpec("P")
R = TypeVar("R")


def _refuse(*, actor: User, request: RecordRequest | None, code: str, message: str) -> NoReturn:
    error = RecordsError(code, message)
    error.actor, error.request = actor, request  # type: ignore[attr-defined]
    raise error


def refusals_audited(service: Callable[P, R]) -> Callable[P, R]:
    """Audit a refusal after the service's transaction has rolled back, so it stays."""

    @wraps(service)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return service(*args, **kwargs)
        except RecordsError as error:
            request = getattr(error, "request", None)
            event_record(
                action=RecordsAction.REQUEST_REFUSED,
                outcome=Outcome.DENIED,
                actor=getattr(error, "actor", None) or kwargs.get("actor"),  # type: ignore[arg-type]
                target=request,
                patient_id=request.patient_id if request is not None else None,
                details={"reason": error.code},
            )
            raise

    return wrapper


def _locked(request: RecordRequest) -> RecordRequest:
    return RecordRequest.objects.select_for_update().select_related("patient").get(pk=request.pk)


def _refuse_if(actor: User, request: RecordRequest, refusal: Refusal | None) -> None:
    """Raise (and, once rolled back, audit) a policy's refusal."""
    if refusal is not None:
        _refuse(actor=actor, request=request, code=refusal.code, message=refusal.message)


def _assignee_claim(actor: User, request: RecordRequest) -> None:
    """Whoever works an unassigned request (a locked row) becomes its assignee, audited
    like an explicit assignment, so the queue never shows "Nobody" for work under way.
    A patient withdrawing their own request, or the system, never becomes one."""
    if request.assigned_to_id is not None or not policies.works_requests(actor):
        return
    request.assigned_to = actor
    request.save(update_fields=["assigned_to"])
    event_record(
        actor=actor,
        action=RecordsAction.REQUEST_ASSIGNED,
        target=request,
        patient_id=request.patient_id,
        details={"assignee_id": actor.pk, "by_working": True},
    )


def _must_be_open(actor: User, request: RecordRequest) -> None:
    _refuse_if(actor, request, policies.open_refusal(request))


def _must_be_verified(actor: User, request: RecordRequest) -> None:
    _refuse_if(actor, request, policies.verified_refusal(request))


def file_bytes(record: EncryptedFile) -> bytes:
    return b"".join(file_chunks(record))
