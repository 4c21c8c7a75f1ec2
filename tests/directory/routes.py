"""Every URL of directory classified for the access matrix (tests/access.py)."""

from __future__ import annotations

from tests.access import OFFICER, RECORDS, SIGNED_IN, STAFF, Route


def _patient(p: object) -> dict[str, int]:
    return {"patient_id": p.patient.pk}  # type: ignore[attr-defined]


def _staff(p: object) -> dict[str, int]:
    return {"staff_id": p.clinician.pk}  # type: ignore[attr-defined]


def _member(p: object) -> dict[str, int]:
    return {"patient_id": p.patient.pk, "staff_id": p.clinician.pk}  # type: ignore[attr-defined]


def _link(p: object) -> dict[str, object]:
    from tests.accounts.proxy_factories import link_made, make_proxy

    made = link_made(proxy=make_proxy(), patient=p.patient, by=p.records_clerk)  # type: ignore[attr-defined]
    return {"patient_id": made.patient_id, "link_id": made.pk}


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
    # The patient's proxies: recorded, read (the scan) and ended by the records clerk and the
    # privacy officer, who also re-invite or recover the proxy's account; suspended by the
    # privacy officer alone. An empty form answers 400.
    "directory:proxy_add": Route(SIGNED_IN, RECORDS, methods=("GET", "POST"), kwargs=_patient),
    "directory:proxy_evidence": Route(SIGNED_IN, RECORDS, kwargs=_link),
    "directory:proxy_revoke": Route(
        SIGNED_IN, RECORDS, methods=("POST",), kwargs=_link, ok_status=(302,)
    ),
    "directory:proxy_reinvite": Route(
        SIGNED_IN, RECORDS, methods=("POST",), kwargs=_link, ok_status=(302,)
    ),
    "directory:proxy_recover": Route(
        SIGNED_IN, RECORDS, methods=("POST",), kwargs=_link, ok_status=(302,)
    ),
    "directory:proxy_suspend": Route(
        SIGNED_IN, OFFICER, methods=("POST",), kwargs=_link, ok_status=(302,)
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
