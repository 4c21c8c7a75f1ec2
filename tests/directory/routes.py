"""Every URL of directory classified for the access matrix (tests/access.py)."""

from __future__ import annotations

from tests.access import OFFICER, SIGNED_IN, STAFF, Route


def _patient(p: object) -> dict[str, int]:
    return {"patient_id": p.patient.pk}  # type: ignore[attr-defined]


def _staff(p: object) -> dict[str, int]:
    return {"staff_id": p.clinician.pk}  # type: ignore[attr-defined]


def _member(p: object) -> dict[str, int]:
    return {"patient_id": p.patient.pk, "staff_id": p.clinician.pk}  # type: ignore[attr-defined]


# The account actions answer with a redirect to the page (and a message) whether the
# service did it or refused it: the refusals are tested in tests/directory/test_views.py.
ROUTES: dict[str, Route] = {
    "directory:search": Route(SIGNED_IN, STAFF, methods=("GET", "POST")),
    "directory:patient": Route(SIGNED_IN, STAFF, kwargs=_patient),
    "directory:patient_reinvite": Route(
        SIGNED_IN, STAFF, methods=("POST",), kwargs=_patient, ok_status=(302,)
    ),
    "directory:patient_recover": Route(
        SIGNED_IN, STAFF, methods=("POST",), kwargs=_patient, ok_status=(302,)
    ),
    "directory:care_team_add": Route(
        SIGNED_IN, STAFF, methods=("POST",), kwargs=_patient, ok_status=(302,)
    ),
    "directory:care_team_remove": Route(
        SIGNED_IN, STAFF, methods=("POST",), kwargs=_member, ok_status=(302,)
    ),
    "directory:patient_offboard": Route(
        SIGNED_IN, STAFF, methods=("POST",), kwargs=_patient, ok_status=(302,)
    ),
    "directory:staff_list": Route(SIGNED_IN, OFFICER),
    "directory:staff": Route(SIGNED_IN, OFFICER, kwargs=_staff, patients_own=False),
    "directory:staff_recover": Route(
        SIGNED_IN, OFFICER, methods=("POST",), kwargs=_staff, ok_status=(302,), patients_own=False
    ),
    "directory:staff_reinvite": Route(
        SIGNED_IN, OFFICER, methods=("POST",), kwargs=_staff, ok_status=(302,), patients_own=False
    ),
    "directory:staff_offboard": Route(
        SIGNED_IN, OFFICER, methods=("POST",), kwargs=_staff, ok_status=(302,), patients_own=False
    ),
    "directory:staff_role": Route(
        SIGNED_IN, OFFICER, methods=("POST",), kwargs=_staff, ok_status=(302,), patients_own=False
    ),
}
