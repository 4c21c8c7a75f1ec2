"""Who may see and work which record requests.

Records clerks work every request and the privacy officer oversees them (DESIGN: the
clerk's queue). Clinicians do not handle access requests. Patients see their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet

from accounts.models import Actor, Role
from records.models import OPEN_STATES, BuildState, DeliverTo, RecordRequest

QUEUE_ROLES = frozenset({Role.RECORDS_CLERK, Role.PRIVACY_OFFICER})


def works_requests(user: Actor) -> bool:
    return bool(user.is_authenticated and user.is_active and user.role in QUEUE_ROLES)


def requests_visible_to(user: Actor) -> QuerySet[RecordRequest]:
    requests = RecordRequest.objects.all()
    if not (user.is_authenticated and user.is_active):
        return requests.none()
    if user.is_patient:
        return requests.filter(patient=user)
    if works_requests(user):
        return requests
    return requests.none()


# --- what may happen to a request now: the page's buttons and the services ask the same --


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str


BUILD_RUNNING = frozenset({BuildState.QUEUED, BuildState.BUILDING})


def open_refusal(request: RecordRequest) -> Refusal | None:
    if request.state in OPEN_STATES:
        return None
    return Refusal("closed", f"This request is already {request.get_state_display().lower()}.")


def verified_refusal(request: RecordRequest) -> Refusal | None:
    """45 CFR 164.514(h): nothing is added or released before verification."""
    if request.verified_at is not None:
        return open_refusal(request)
    return open_refusal(request) or Refusal(
        "unverified", "Verify the requester's identity and authority first (45 CFR 164.514(h))."
    )


def extension_refusal(request: RecordRequest, now: datetime) -> Refusal | None:
    """45 CFR 164.524(b)(2)(ii): one extension, sent before the first due date."""
    if refusal := open_refusal(request):
        return refusal
    if request.extended_at is not None:
        return Refusal(
            "second_extension", "A request can be extended only once (45 CFR 164.524(b)(2)(ii))."
        )
    if now >= request.original_due_at:
        return Refusal(
            "late_extension",
            "The due date has passed: an extension must be sent within the first 30 days "
            "(45 CFR 164.524(b)(2)(ii)).",
        )
    return None


def build_refusal(request: RecordRequest, documents: int) -> Refusal | None:
    if refusal := verified_refusal(request):
        return refusal
    return None if documents else Refusal("no_documents", "Add documents first.")


def fulfil_refusal(request: RecordRequest) -> Refusal | None:
    if refusal := verified_refusal(request):
        return refusal
    if request.build_state != BuildState.BUILT or request.package_id is None:
        return Refusal("not_built", "Build the package before sending it.")
    return None


def request_actions(request: RecordRequest, *, now: datetime, documents: int) -> dict[str, bool]:
    """What the request page offers: exactly what the services would accept."""
    is_open = open_refusal(request) is None
    package_readable = (
        request.build_state == BuildState.BUILT
        and request.package is not None
        and not request.package.is_erased
    )
    return {
        "verify": is_open and request.verified_at is None,
        "assign": is_open,
        "fee": is_open and request.deliver_to != DeliverTo.PORTAL,
        "extend": extension_refusal(request, now) is None,
        "deny": is_open,
        "withdraw": is_open,
        "documents": verified_refusal(request) is None,
        "build": build_refusal(request, documents) is None
        and request.build_state not in BUILD_RUNNING,
        "download": package_readable,
        "fulfil": fulfil_refusal(request) is None,
    }


def next_step(request: RecordRequest, *, documents: int) -> str:
    """The one step the clerk should take next, for the page to put first: ``verify``,
    ``documents``, ``build``, ``building`` (wait), ``fulfil``, or ``closed``."""
    if open_refusal(request) is not None:
        return "closed"
    if request.verified_at is None:
        return "verify"
    if not documents:
        return "documents"
    if request.build_state in BUILD_RUNNING:
        return "building"
    if request.build_state == BuildState.BUILT and request.package_id is not None:
        return "fulfil"
    return "build"
