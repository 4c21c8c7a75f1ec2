"""Every URL of evidence classified for the access matrix (tests/access.py)."""

from __future__ import annotations

from tests.access import OFFICER, SIGNED_IN, Route

ROUTES: dict[str, Route] = {
    "evidence:dashboard": Route(SIGNED_IN, OFFICER),
    # Without a period: the last 30 days.
    "evidence:pack": Route(SIGNED_IN, OFFICER),
}
