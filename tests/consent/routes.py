"""Every URL of consent classified for the access matrix (tests/access.py)."""

from __future__ import annotations

from tests.access import (
    OFFICER,
    RECORDS,
    SIGNED_IN,
    STAFF,
    Route,
    on_paper,
)

ROUTES: dict[str, Route] = {
    "consent:patient": Route(SIGNED_IN, STAFF, kwargs=lambda p: {"patient_id": p.patient.pk}),
    "consent:paper_record": Route(
        SIGNED_IN, STAFF, methods=("GET", "POST"), kwargs=lambda p: {"patient_id": p.patient.pk}
    ),
    "consent:waiver_record": Route(
        SIGNED_IN,
        STAFF,
        methods=("POST",),
        kwargs=lambda p: {"patient_id": p.patient.pk},
        ok_status=(302,),
    ),
    "consent:outside_disclosure_record": Route(
        SIGNED_IN,
        RECORDS,
        methods=("GET", "POST"),
        kwargs=lambda p: {"patient_id": p.patient.pk},
    ),
    "consent:accounting_pdf": Route(
        SIGNED_IN, STAFF, kwargs=lambda p: {"patient_id": p.patient.pk}
    ),
    "consent:authorizations": Route(SIGNED_IN, OFFICER, methods=("GET", "POST")),
    "consent:authorization": Route(
        SIGNED_IN, STAFF, kwargs=lambda p: {"authorization_id": on_paper(p).pk}
    ),
    "consent:revoke": Route(
        SIGNED_IN,
        STAFF,
        methods=("POST",),
        kwargs=lambda p: {"authorization_id": on_paper(p).pk},
        ok_status=(302,),  # without the written-request box: refused, back to the page
    ),
    "consent:event_expire": Route(
        SIGNED_IN,
        STAFF,
        methods=("POST",),
        kwargs=lambda p: {"authorization_id": on_paper(p).pk},
        ok_status=(302,),  # no expiry event named: refused, back to the page
    ),
    "consent:correct": Route(
        SIGNED_IN,
        STAFF,
        methods=("GET", "POST"),
        kwargs=lambda p: {"authorization_id": on_paper(p).pk},
    ),
    "consent:scan": Route(SIGNED_IN, STAFF, kwargs=lambda p: {"authorization_id": on_paper(p).pk}),
    "consent:fhir": Route(SIGNED_IN, STAFF, kwargs=lambda p: {"authorization_id": on_paper(p).pk}),
    "consent:waiver_statements": Route(SIGNED_IN, OFFICER, methods=("GET", "POST")),
}
