"""The daily renewal alerts: every privacy officer hears of a business associate agreement
30 days before its renewal date.

``renewal_alerts_raise`` is safe to run twice, or on two workers at once: each alert is a
row unique per agreement and recipient, and only the run whose INSERT took the row sends
the e-mail. Missing a day misses nothing: an agreement that entered the 30 days while
the beat was down is alerted on the next run. A renewal is a new agreement with its own
date, so it is alerted in its turn.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role, User
from audit.services import event_record
from compliance.actions import ComplianceAction
from compliance.models import RenewalAlert
from compliance.selectors import agreements_due_for_renewal


def renewal_alerts_raise(*, now: datetime | None = None) -> int:
    """Raise the alerts due today; how many were raised (each e-mailed after commit)."""
    today = timezone.localtime(now or timezone.now()).date()
    officers = list(User.objects.filter(role=Role.PRIVACY_OFFICER, is_active=True))
    raised = 0
    for agreement in agreements_due_for_renewal(today=today):
        for officer in officers:
            with transaction.atomic():
                alert, created = RenewalAlert.objects.get_or_create(
                    agreement=agreement, recipient=officer
                )
                if not created:
                    continue
                raised += 1
                event_record(
                    action=ComplianceAction.RENEWAL_ALERTED,
                    target=agreement.associate,
                    details={
                        "agreement_id": agreement.pk,
                        "renewal_on": agreement.renewal_on.isoformat(),
                        "recipient_id": officer.pk,
                    },
                )
                transaction.on_commit(partial(_email_later, alert.pk), robust=True)
    return raised


def _email_later(alert_id: int) -> None:
    from compliance.tasks import renewal_alert_email

    renewal_alert_email.delay(alert_id)


def renewal_alert_email(*, alert_id: int) -> bool:
    """E-mail one alert: the vendor, its service and the date, a link; nothing about any
    patient. Claimed first (one conditional UPDATE), so a second task sends nothing; a
    failed send gives the claim back for the retry."""
    from accounts.tasks import email_send

    claimed = RenewalAlert.objects.filter(pk=alert_id, emailed_at__isnull=True).update(
        emailed_at=timezone.now()
    )
    if not claimed:
        return False
    alert = RenewalAlert.objects.select_related("recipient", "agreement__associate").get(
        pk=alert_id
    )
    associate = alert.agreement.associate
    try:
        email_send(
            to=alert.recipient.email,
            template="compliance/email/renewal_alert",
            context={
                "name": associate.name,
                "renewal_on": alert.agreement.renewal_on,
                "link": settings.PORTAL_BASE_URL
                + reverse("compliance:associate", args=[associate.pk]),
            },
        )
    except BaseException:
        RenewalAlert.objects.filter(pk=alert_id).update(emailed_at=None)
        raise
    return True
