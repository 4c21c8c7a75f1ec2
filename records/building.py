"""Running a package build: claim, decrypt the documents, build, sign, encrypt, record.

The request row is the state: a build is claimed by a conditional UPDATE (queued, or
building with a lapsed lease), so a duplicate prompt builds nothing, and a worker that
died mid-build leaves a lease that the sweep finds and prompts again. Progress is
written per document so the clerk's page can show it while the build runs.

Each claim also writes a new ``build_queued_at``, its token, and every later write of
that build (progress, failure, the package) is conditional on it: a build that documents
outdated, or whose lapsed lease another worker took over, can never overwrite the newer
one, even when the newer one is building at the time.
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit.models import Outcome
from audit.services import event_record
from encryption.files import file_store
from records.actions import RecordsAction
from records.models import BuildState, DeliverTo, RecordRequest
from records.services import file_bytes

BUILD_LEASE = timedelta(minutes=15)  # longer than any build; a dead worker's build resumes


def _claim(request_id: str) -> datetime | None:
    """Claim the build; returns the claim's token, or None when there is nothing to claim."""
    now = timezone.now()
    wanted = RecordRequest.objects.filter(
        Q(build_state=BuildState.QUEUED)
        | Q(build_state=BuildState.BUILDING, build_lease_until__lt=now),
        pk=request_id,
    )
    seen = wanted.values_list("build_queued_at", flat=True).first()
    if seen is None:
        return None
    claimed = wanted.filter(build_queued_at=seen).update(
        build_state=BuildState.BUILDING,
        build_done=0,
        build_lease_until=now + BUILD_LEASE,
        build_queued_at=now,
    )
    return now if claimed == 1 else None


def package_build_run(*, request_id: str) -> str:
    """Build one package if it is still wanted; returns what happened (tests and logs)."""
    from records.package import Cover, SourceDocument, package_build
    from records.signing import package_sign

    token = _claim(request_id)
    if token is None:
        return "not_claimed"
    request = RecordRequest.objects.select_related("patient__patient_profile").get(pk=request_id)
    documents = list(
        request.documents.select_related("file", "title_record").order_by(
            "position", "added_at", "pk"
        )
    )
    mine = RecordRequest.objects.filter(
        pk=request.pk, build_state=BuildState.BUILDING, build_queued_at=token
    )

    def progress(done: int, total: int) -> None:
        mine.update(build_done=done, build_total=total)

    try:
        sources = [
            SourceDocument(
                d.file.original_name, d.file.content_type, file_bytes(d.file), title=d.title
            )
            for d in documents
        ]
        profile = getattr(request.patient, "patient_profile", None)
        cover = Cover(
            organisation=settings.ORGANISATION_NAME,
            patient_name=profile.legal_name if profile else request.patient.full_name,
            mrn=profile.mrn if profile else "",
            received_on=timezone.localtime(request.received_at).date(),
            prepared_on=timezone.localdate(),
            prepared_for=(
                request.third_party_name
                if request.deliver_to == DeliverTo.THIRD_PARTY
                else (profile.legal_name if profile else request.patient.full_name)
            ),
            language=request.patient.language,
        )
        built = package_build(cover=cover, documents=sources, progress=progress)
        signed = package_sign(built.pdf)
        del sources
    except Exception as error:
        if not mine.update(build_state=BuildState.FAILED, build_failure=type(error).__name__[:64]):
            return "stale"  # a newer build is the request's: this failure is not its
        event_record(
            action=RecordsAction.PACKAGE_BUILD_FAILED,
            outcome=Outcome.ERROR,
            target=request,
            patient_id=request.patient_id,
            details={"error": type(error).__name__},
        )
        return "failed"
    stored = file_store(
        source=io.BytesIO(signed), name="records-package.pdf", content_type="application/pdf"
    )
    with transaction.atomic():
        done = mine.update(
            build_state=BuildState.BUILT,
            build_done=len(documents),
            package=stored,
            package_pages=built.pages,
            build_lease_until=None,
        )
        if not done:  # documents changed or another claim took over: this build is stale
            transaction.on_commit(stored.delete)
            return "stale"
        event_record(
            action=RecordsAction.PACKAGE_BUILT,
            target=request,
            patient_id=request.patient_id,
            details={"documents": len(documents), "pages": built.pages},
        )
    return "built"


def builds_resume(*, older_than: timedelta = timedelta(minutes=2)) -> int:
    """Prompt builds still queued after ``older_than`` (a lost prompt) and builds whose
    lease lapsed (a dead worker); returns how many."""
    from records.tasks import package_build

    now = timezone.now()
    waiting = RecordRequest.objects.filter(
        Q(build_state=BuildState.QUEUED, build_queued_at__lt=now - older_than)
        | Q(build_state=BuildState.BUILDING, build_lease_until__lt=now)
    ).values_list("pk", flat=True)
    count = 0
    for pk in waiting:
        package_build.delay(str(pk))
        count += 1
    return count
