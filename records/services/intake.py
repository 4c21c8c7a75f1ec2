"""A request from its receipt to its work: receive, verify, assign, estimate the fee, withdraw.

45 CFR 164.524(b): the clock starts at receipt; 164.514(h): nothing is released before the
requester's identity and authority are verified."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from django.db import transaction
from django.utils import timezone

from accounts import proxies
from accounts.models import ProxyScope, Role, User
from audit.services import event_record
from records import deadlines, weeks
from records.actions import RecordsAction
from records.models import (
    ArrivedBy,
    DeliverTo,
    RecordRequest,
    RequestState,
    VerificationMethod,
)
from records.services._common import (
    _assignee_claim,
    _locked,
    _must_be_open,
    _refuse,
    refusals_audited,
)


@dataclass(frozen=True)
class RequestSpec:
    """What a request form gives: what, how, to whom, and who asked."""

    categories: Sequence[str]
    deliver_to: str
    records_from: date | None = None
    records_to: date | None = None
    details: str = ""
    representative_name: str = ""
    representative_authority: str = ""
    third_party_name: str = ""
    third_party_email: str = ""
    third_party_address: str = ""


def _spec_problems(spec: RequestSpec) -> list[str]:
    problems = []
    if not spec.categories:
        problems.append("Say which records are wanted.")
    if spec.records_from and spec.records_to and spec.records_from > spec.records_to:
        problems.append("The date range must start before it ends.")
    if spec.deliver_to not in DeliverTo.values:
        problems.append("Choose how the copy is delivered.")
    # 45 CFR 164.524(c)(3)(ii): a copy to a third party needs the patient's written
    # direction naming the recipient and where to send it.
    if spec.deliver_to == DeliverTo.THIRD_PARTY and not (
        spec.third_party_name.strip() and spec.third_party_email.strip()
    ):
        problems.append("Name the person to send the copy to and their e-mail address.")
    if spec.representative_name.strip() and not spec.representative_authority.strip():
        problems.append("Describe the representative's authority (164.514(h)).")
    return problems


def _asked_by_proxy(spec: RequestSpec, *, actor: User, patient: User) -> RequestSpec:
    """Who asked, from the proxy's link rather than from the form: a personal
    representative's name and authority (so the clerk checks the papers on file, 45 CFR
    164.514(h)); an invited caregiver is not one (164.502(g)) and is known by
    ``recorded_by`` alone."""
    authority = proxies.representative_authority(actor, patient)
    return replace(
        spec,
        representative_name=actor.full_name if authority else "",
        representative_authority=authority,
    )


@refusals_audited
@transaction.atomic
def request_receive(
    *,
    actor: User,
    patient: User,
    spec: RequestSpec,
    arrived_by: str,
    received_at: datetime | None = None,
) -> RecordRequest:
    """Record a request; ``received_at`` starts the 30-day clock (164.524(b)(2))."""
    now = timezone.now()
    received_at = received_at or now
    problems = _spec_problems(spec)
    if received_at > now:
        problems.append("The received time cannot be in the future.")
    # In the portal: the patient for themselves, or a proxy whose link lets them ask.
    if actor.uses_portal and not proxies.acts_for(actor, patient, ProxyScope.REQUEST_RECORDS):
        problems.append("Patients can only ask for their own records.")
    if problems:
        _refuse(actor=actor, request=None, code="invalid_request", message=" ".join(problems))
    if actor.is_proxy:
        spec = _asked_by_proxy(spec, actor=actor, patient=patient)
    due = deadlines.due_at_for(received_at)
    request = RecordRequest(
        patient=patient,
        received_at=received_at,
        arrived_by=arrived_by,
        recorded_by=actor,
        categories=list(spec.categories),
        records_from=spec.records_from,
        records_to=spec.records_to,
        details=spec.details.strip(),
        deliver_to=spec.deliver_to,
        representative_name=spec.representative_name.strip(),
        representative_authority=spec.representative_authority.strip(),
        third_party_name=spec.third_party_name.strip(),
        third_party_email=spec.third_party_email.strip(),
        third_party_address=spec.third_party_address.strip(),
        due_at=due,
        original_due_at=due,
    )
    request.save()
    weeks.received_count(request)
    event_record(
        actor=actor,
        action=RecordsAction.REQUEST_RECEIVED,
        target=request,
        patient_id=patient.pk,
        details={
            "arrived_by": arrived_by,
            "deliver_to": spec.deliver_to,
            "categories": list(spec.categories),
            "representative": bool(request.representative_name),
            "due_at": due.isoformat(),
        },
    )
    return request


@refusals_audited
@transaction.atomic
def request_verify(
    *, actor: User, request: RecordRequest, method: str, note: str = ""
) -> RecordRequest:
    """45 CFR 164.514(h): identity and authority are verified before anything is released."""
    request = _locked(request)
    _must_be_open(actor, request)
    if request.verified_at is not None:
        return request
    if method not in VerificationMethod.values:
        _refuse(actor=actor, request=request, code="method", message="Say how it was verified.")
    # A portal sign-in with two factors vouches only for a request the patient made there.
    if method == VerificationMethod.PORTAL_MFA and not (
        request.arrived_by == ArrivedBy.PORTAL and request.recorded_by_id == request.patient_id
    ):
        _refuse(
            actor=actor,
            request=request,
            code="method_not_portal",
            message="This request did not come from the patient's portal account: check "
            "identity another way (45 CFR 164.514(h)).",
        )
    if request.representative_name and method != VerificationMethod.REPRESENTATIVE_DOCUMENTS:
        _refuse(
            actor=actor,
            request=request,
            code="representative_unverified",
            message="A representative's request needs their documents checked "
            "(45 CFR 164.514(h)(1)): choose that method.",
        )
    request.verified_at, request.verified_by = timezone.now(), actor
    request.verification_method, request.verification_note = method, note.strip()
    request.state = RequestState.VERIFIED
    request.save()
    _assignee_claim(actor, request)
    event_record(
        actor=actor,
        action=RecordsAction.REQUEST_VERIFIED,
        target=request,
        patient_id=request.patient_id,
        details={"method": method},
    )
    return request


@refusals_audited
@transaction.atomic
def request_assign(*, actor: User, request: RecordRequest, assignee: User | None) -> RecordRequest:
    request = _locked(request)
    _must_be_open(actor, request)
    if assignee is not None and assignee.role not in (Role.RECORDS_CLERK, Role.PRIVACY_OFFICER):
        _refuse(
            actor=actor,
            request=request,
            code="assignee",
            message="Requests go to records clerks or the privacy officer.",
        )
    request.assigned_to = assignee
    request.save(update_fields=["assigned_to"])
    event_record(
        actor=actor,
        action=RecordsAction.REQUEST_ASSIGNED,
        target=request,
        patient_id=request.patient_id,
        details={"assignee_id": assignee.pk if assignee else None},
    )
    return request


@refusals_audited
@transaction.atomic
def fee_estimate_give(
    *, actor: User, request: RecordRequest, cents: int, basis: str
) -> RecordRequest:
    """45 CFR 164.524(c)(4): a cost-based estimate, given before fulfilment."""
    request = _locked(request)
    _must_be_open(actor, request)
    if cents < 0 or not basis.strip():
        _refuse(
            actor=actor,
            request=request,
            code="fee",
            message="A fee estimate needs an amount and its cost basis (164.524(c)(4)).",
        )
    if request.deliver_to == DeliverTo.PORTAL and cents > 0:
        _refuse(
            actor=actor,
            request=request,
            code="portal_free",
            message="A copy delivered in the portal carries no fee (164.524(c)(4)).",
        )
    request.fee_estimate_cents, request.fee_basis = cents, basis.strip()
    request.fee_given_at = timezone.now()
    request.save(update_fields=["fee_estimate_cents", "fee_basis", "fee_given_at"])
    event_record(
        actor=actor,
        action=RecordsAction.FEE_ESTIMATED,
        target=request,
        patient_id=request.patient_id,
        details={"cents": cents},
    )
    return request


@refusals_audited
@transaction.atomic
def request_withdraw(*, actor: User, request: RecordRequest) -> RecordRequest:
    request = _locked(request)
    if actor.uses_portal and not proxies.acts_for(
        actor, request.patient, ProxyScope.REQUEST_RECORDS
    ):
        _refuse(actor=actor, request=request, code="not_yours", message="This is not your request.")
    _must_be_open(actor, request)
    request.state = RequestState.WITHDRAWN
    request.closed_at, request.closed_by = timezone.now(), actor
    request.save()
    event_record(
        actor=actor,
        action=RecordsAction.REQUEST_WITHDRAWN,
        target=request,
        patient_id=request.patient_id,
    )
    return request
