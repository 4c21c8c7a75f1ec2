"""Reads of consent data worth an audit row, each its own ``*_record`` service.

Views call these after the selector that fetched what they show (STYLE.md: one
convention, so a reviewer looks in one place). Details hold counts, versions and codes.
"""

from __future__ import annotations

from accounts.models import User
from audit.services import event_record
from consent.actions import ConsentAction
from consent.models import Authorization


def patient_overview_view_record(*, patient: User, authorizations: int, disclosures: int) -> None:
    event_record(
        action=ConsentAction.CONSENT_OVERVIEW_VIEWED,
        target=patient,
        patient_id=patient.pk,
        details={"authorizations": authorizations, "disclosures": disclosures},
    )


def authorization_view_record(*, authorization: Authorization) -> None:
    event_record(
        action=ConsentAction.AUTHORIZATION_VIEWED,
        target=authorization,
        patient_id=authorization.patient_id,
        details={"version": authorization.version},
    )


def scan_download_record(*, authorization: Authorization) -> None:
    event_record(
        action=ConsentAction.SCAN_DOWNLOADED,
        target=authorization,
        patient_id=authorization.patient_id,
        details={"version": authorization.version},
    )


def authorization_export_record(*, authorization: Authorization, fmt: str) -> None:
    event_record(
        action=ConsentAction.AUTHORIZATION_EXPORTED,
        target=authorization,
        patient_id=authorization.patient_id,
        details={"version": authorization.version, "format": fmt},
    )


def accounting_export_record(*, patient: User, entries: int) -> None:
    event_record(
        action=ConsentAction.ACCOUNTING_EXPORTED,
        target=patient,
        patient_id=patient.pk,
        details={"entries": entries, "format": "pdf"},
    )


def preferences_view_record(*, patient: User) -> None:
    """The patient's contact preferences, waiver and delivery choice were shown in the
    portal (to the patient, or to a proxy acting for them)."""
    event_record(action=ConsentAction.PREFERENCES_VIEWED, target=patient, patient_id=patient.pk)


def accounting_view_record(*, patient: User, page: int, entries: int) -> None:
    """The patient read their own accounting of disclosures in the portal."""
    event_record(
        action=ConsentAction.ACCOUNTING_VIEWED,
        patient_id=patient.pk,
        details={"page": page, "entries": entries},
    )


def authorizations_list_record(
    *, state: str, searched: bool, results: int, page: int, patient: User | None = None
) -> None:
    """The officer's list (a state, a search, a page), or a patient's own list."""
    details: dict[str, object] = (
        {"count": results}
        if patient is not None
        else {"state": state, "searched": searched, "results": results, "page": page}
    )
    event_record(
        action=ConsentAction.AUTHORIZATIONS_LISTED,
        patient_id=patient.pk if patient is not None else None,
        details=details,
    )
