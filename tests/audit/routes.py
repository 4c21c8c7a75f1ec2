"""Every URL of audit classified for the access matrix (tests/access.py)."""

from __future__ import annotations

from tests.access import (
    OFFICER,
    SIGNED_IN,
    Route,
    an_event,
)

ROUTES: dict[str, Route] = {
    "audit:search": Route(SIGNED_IN, OFFICER, methods=("GET", "POST")),
    "audit:event_detail": Route(
        SIGNED_IN, OFFICER, kwargs=lambda p: {"pk": an_event(p)}, patients_own=False
    ),
    "audit:export": Route(SIGNED_IN, OFFICER, kwargs={"fmt": "csv"}),
    "audit:activity_review": Route(SIGNED_IN, OFFICER),
    "audit:activity_review_record": Route(
        SIGNED_IN,
        OFFICER,
        methods=("POST",),
        ok_status=(400,),  # empty: no findings
    ),
    "audit:my_access_log": Route(SIGNED_IN, frozenset({"patient"})),
}
