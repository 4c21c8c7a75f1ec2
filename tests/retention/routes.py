"""Every URL of retention classified for the access matrix (tests/access.py)."""

from __future__ import annotations

from tests.access import (
    OFFICER,
    SIGNED_IN,
    Route,
    hold,
)

ROUTES: dict[str, Route] = {
    "retention:overview": Route(SIGNED_IN, OFFICER),
    "retention:policy_edit": Route(
        SIGNED_IN, OFFICER, methods=("GET", "POST"), kwargs={"kind": "message_clinical"}
    ),
    "retention:holds": Route(SIGNED_IN, OFFICER),
    "retention:hold_place": Route(SIGNED_IN, OFFICER, methods=("POST",), ok_status=(400,)),
    "retention:hold_release": Route(
        SIGNED_IN, OFFICER, methods=("POST",), kwargs=lambda p: hold(p), ok_status=(302,)
    ),
    "retention:runs": Route(SIGNED_IN, OFFICER),
}
