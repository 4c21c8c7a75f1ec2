"""Each look at the evidence is recorded (45 CFR 164.312(b)): ids, dates and digests only."""

from __future__ import annotations

from audit.models import AuditEvent
from audit.services import event_record
from evidence.actions import EvidenceAction
from evidence.figures import Period


def dashboard_view_record(*, period: Period) -> AuditEvent:
    return event_record(
        action=EvidenceAction.DASHBOARD_VIEWED,
        target_type="evidence.dashboard",
        details={"date_from": period.first_day.isoformat(), "date_to": period.last_day.isoformat()},
    )


def pack_export_record(*, period: Period, zip_sha256: str, report_sha256: str) -> AuditEvent:
    """Recorded once the pack is built, before it leaves: the digests let anyone later
    tell whether a pack handed to an auditor is the one downloaded here."""
    return event_record(
        action=EvidenceAction.PACK_EXPORTED,
        target_type="evidence.pack",
        details={
            "date_from": period.first_day.isoformat(),
            "date_to": period.last_day.isoformat(),
            "zip_sha256": zip_sha256,
            "report_sha256": report_sha256,
        },
    )
