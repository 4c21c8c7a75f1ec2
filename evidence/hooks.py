"""The places where figures from other parts of issue 20 plug in.

Each function answers "not recorded by this installation yet" (None) until the part
that records it exists; then it returns its figures and both the dashboard and the
evidence pack show them with no other change. INTEGRATOR: fill these in.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from accounts.models import Actor
from audit.models import AuditCheckpoint

if TYPE_CHECKING:
    from evidence.figures import Period, Section


def checkpoint_anchors(checkpoints: list[AuditCheckpoint]) -> dict[int, dict[str, Any]]:
    """Where each checkpoint's head was written outside the database, by checkpoint id;
    a checkpoint with no anchor is left out. Called a batch at a time (up to 2,000), so
    one query per batch answers it.

    Expected keys of each anchor: ``location`` (the object key or file path, shown on
    the dashboard), ``written_at`` (ISO time), ``sink`` ("s3" or "file") and whatever
    the anchoring records to prove it (an object version id, a retention date).
    ``audit/checkpoints.json`` in the pack carries the whole dict as each checkpoint's
    ``anchor``.
    """
    return {}


def workforce_section(*, user: Actor, period: Period, now: datetime) -> Section | None:
    """Staff who have not acknowledged the current policies; acknowledgements in the
    period (the compliance app's policy acknowledgement)."""
    return None


def activity_review_section(*, user: Actor, period: Period, now: datetime) -> Section | None:
    """When each period was last reviewed, by whom, with how many findings
    (164.308(a)(1)(ii)(D))."""
    return None


def business_associates_section(*, user: Actor, period: Period, now: datetime) -> Section | None:
    """Business associates on the register, agreements renewing within 30 days or lapsed."""
    return None
