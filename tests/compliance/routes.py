"""Every URL of compliance classified for the access matrix (tests/access.py)."""

from __future__ import annotations

from typing import Any

from tests.access import OFFICER, SIGNED_IN, STAFF, Route


def _policy(personas: Any) -> dict[str, Any]:
    """A published policy everyone acknowledged: the gate (tested in test_gate.py) stays out
    of the way of the matrix."""
    from tests.compliance.factories import acknowledged_by_all, policy_published

    document = policy_published(personas.privacy_officer)
    acknowledged_by_all(
        document, personas.privacy_officer, personas.clinician, personas.records_clerk
    )
    return {"document_id": document.pk}


def _associate(personas: Any) -> dict[str, Any]:
    from tests.compliance.factories import associate_added

    return {"associate_id": associate_added(personas.privacy_officer).pk}


def _agreement(personas: Any) -> dict[str, Any]:
    from tests.compliance.factories import associate_added

    associate = associate_added(personas.privacy_officer)
    return {"associate_id": associate.pk, "agreement_id": associate.agreements.get().pk}


ROUTES: dict[str, Route] = {
    "compliance:acknowledge": Route(SIGNED_IN, STAFF, methods=("GET", "POST")),
    "compliance:policies": Route(SIGNED_IN, OFFICER),
    "compliance:policy_publish": Route(SIGNED_IN, OFFICER, methods=("GET", "POST")),
    "compliance:policy": Route(SIGNED_IN, OFFICER, kwargs=_policy, patients_own=False),
    "compliance:associates": Route(SIGNED_IN, OFFICER),
    "compliance:associate_add": Route(SIGNED_IN, OFFICER, methods=("POST",), ok_status=(400,)),
    "compliance:associate": Route(SIGNED_IN, OFFICER, kwargs=_associate, patients_own=False),
    "compliance:associate_renew": Route(
        SIGNED_IN,
        OFFICER,
        methods=("POST",),
        kwargs=_associate,
        ok_status=(400,),
        patients_own=False,
    ),
    "compliance:associate_end": Route(
        SIGNED_IN,
        OFFICER,
        methods=("POST",),
        kwargs=_associate,
        ok_status=(400,),
        patients_own=False,
    ),
    "compliance:agreement_scan": Route(SIGNED_IN, OFFICER, kwargs=_agreement, patients_own=False),
}
