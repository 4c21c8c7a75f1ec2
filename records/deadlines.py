"""Deadline arithmetic for the right of access (45 CFR 164.524(b)(2)), in local days.

A request received on a day is due at the end of the 30th day after it, in the
organisation's time zone (``TIME_ZONE``): a deadline is a local calendar day, so it
lands on the same wall-clock midnight whatever month ends or DST changes lie between.
``due_at`` is the exclusive end: the first instant that is late.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.utils import timezone

# 45 CFR 164.524(b)(2)(i): act on a request within 30 days of receipt.
RESPONSE_DAYS = 30
# 45 CFR 164.524(b)(2)(ii): one extension of at most 30 days.
MAX_EXTENSION_DAYS = 30
ALERT_DAYS = (7, 3, 1)  # the assignee is alerted this many days before the due date


def local_day(moment: datetime) -> date:
    return timezone.localtime(moment).date()


def end_of_day(day: date) -> datetime:
    """The first instant after ``day`` in the organisation's zone (an aware datetime)."""
    return timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))


def due_at_for(received_at: datetime) -> datetime:
    return end_of_day(local_day(received_at) + timedelta(days=RESPONSE_DAYS))


def due_day(due_at: datetime) -> date:
    """The last day on which the request is on time."""
    return local_day(due_at - timedelta(microseconds=1))


def days_left(due_at: datetime, now: datetime | None = None) -> int:
    """Whole local days from today to the due day: 0 on the due day, negative when late."""
    return (due_day(due_at) - local_day(now or timezone.now())).days


def latest_extension_day(original_due_at: datetime) -> date:
    return due_day(original_due_at) + timedelta(days=MAX_EXTENSION_DAYS)
