"""Activity review (45 CFR 164.308(a)(1)(ii)(D)): the lists against seeded events whose
true counts the test computes on its own, the page, and the review record."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from audit import registry, review, selectors
from audit.models import ActivityReview, AuditEvent

pytestmark = pytest.mark.django_db

ZONE = "America/Chicago"
# Monday 23 to Sunday 29 November 2026: no daylight-saving change inside.
START, END = date(2026, 11, 23), date(2026, 11, 29)
STAFF = ("clinician", "records_clerk", "privacy_officer")
BULK, FAILED = 6, 3


@pytest.fixture
def local(settings: Any) -> ZoneInfo:
    settings.TIME_ZONE = ZONE
    settings.AUDIT_WORKING_HOURS_START = 7
    settings.AUDIT_WORKING_HOURS_END = 19
    settings.AUDIT_BULK_READS_PER_HOUR = BULK
    settings.AUDIT_FAILED_SIGN_INS_PER_HOUR = FAILED
    return ZoneInfo(ZONE)


def at(zone: ZoneInfo, day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)


def event(moment: datetime, **fields: Any) -> AuditEvent:
    fields.setdefault("actor_kind", "user")
    fields.setdefault("action", "directory.patient_page_viewed")
    return AuditEvent.objects.create(occurred_at=moment, **fields)


def by(user: Any) -> dict[str, Any]:
    return {"actor_id": user.pk, "actor_role": user.role, "actor_label": user.full_name}


PATIENT_ACTIONS = (
    "directory.patient_page_viewed",
    "messaging.thread_viewed",
    "consent.overview_viewed",
)
OTHER_ACTIONS = (
    "accounts.sign_in_failed",
    "accounts.mfa_failed",
    "accounts.locked_out",
    "accounts.sign_in_ceiling",
    "accounts.admin_change",
    "encryption.key_rotated",
    "retention.hold_placed",
    "audit.exported",
    "consent.accounting_exported",
    "records.package_downloaded",
    "accounts.sign_in",
)


def seed(personas: Any, zone: ZoneInfo, rng: random.Random) -> list[AuditEvent]:
    """A week and a bit of mixed events, some bursts, some outside the period."""
    staff = [personas.clinician, personas.records_clerk, personas.privacy_officer]
    patients = [personas.patient, personas.other_patient]
    made = []
    first = at(zone, START - timedelta(days=2), 0)
    for _ in range(500):
        moment = first + timedelta(minutes=rng.randrange(11 * 24 * 60))
        if rng.random() < 0.65:
            who = rng.choice([*staff, personas.patient])
            fields = {
                **by(who),
                "action": rng.choice(PATIENT_ACTIONS),
                "patient_id": rng.choice(patients).pk,
                "outcome": rng.choice(["success"] * 9 + ["denied"]),
            }
        else:
            action = rng.choice(OTHER_ACTIONS)
            target = rng.choice([*patients, personas.clinician])
            fields = {
                "action": action,
                "actor_kind": "anonymous" if "sign_in" in action else "user",
                "target_type": "accounts.user",
                "target_id": str(target.pk),
                "ip": rng.choice(["192.0.2.10", "192.0.2.11", "198.51.100.7"]),
                "outcome": "denied" if "fail" in action or "locked" in action else "success",
            }
            if fields["actor_kind"] == "user":
                fields.update(by(personas.privacy_officer))
        made.append(event(moment, **fields))
    # A burst: the records clerk reads 9 times within one hour on Wednesday morning.
    for minute in range(9):
        made.append(
            event(
                at(zone, START + timedelta(days=2), 10, minute * 5),
                **by(personas.records_clerk),
                patient_id=personas.other_patient.pk,
            )
        )
    # A run of failed sign-ins against the clinician's account from one address.
    for minute in range(4):
        made.append(
            event(
                at(zone, START + timedelta(days=3), 3, minute),
                action="accounts.sign_in_failed",
                actor_kind="anonymous",
                outcome="denied",
                target_type="accounts.user",
                target_id=str(personas.clinician.pk),
                ip="203.0.113.9",
            )
        )
    return made


def expected_counts(personas: Any, events: list[AuditEvent], zone: ZoneInfo) -> dict[str, int]:
    """The lists' definitions, computed in Python from the events as they were seeded."""
    begin, end = at(zone, START, 0), at(zone, END + timedelta(days=1), 0)
    period = [e for e in events if begin <= e.occurred_at < end]
    on_patients = [
        e
        for e in period
        if e.actor_kind == "user"
        and e.actor_role in STAFF
        and e.patient_id is not None
        and e.outcome == "success"
        and e.actor_id != e.patient_id
    ]
    on_team = {(personas.clinician.pk, personas.patient.pk)}
    outside = {
        (e.actor_id, e.patient_id)
        for e in on_patients
        if e.actor_role == "clinician" and (e.actor_id, e.patient_id) not in on_team
    }
    local = [(e, e.occurred_at.astimezone(zone)) for e in on_patients]
    after = {
        (e.actor_id, moment.date())
        for e, moment in local
        if moment.hour < 7 or moment.hour >= 19 or moment.weekday() >= 5
    }
    per_hour = Counter((e.actor_id, moment.replace(minute=0, second=0)) for e, moment in local)
    failures = [
        (e, e.occurred_at.astimezone(zone).replace(minute=0, second=0, microsecond=0))
        for e in period
        if e.action in ("accounts.sign_in_failed", "accounts.mfa_failed")
    ]
    by_account = Counter((e.target_id, hour) for e, hour in failures if e.target_type)
    by_address = Counter((e.ip, hour) for e, hour in failures if e.ip)
    exports = ("audit.exported", "consent.accounting_exported", "records.package_downloaded")
    admin = ("accounts.admin_change", "encryption.key_rotated", "retention.hold_placed")
    return {
        "outside_care_team": len(outside),
        "after_hours": len(after),
        "bulk_reads": sum(1 for n in per_hour.values() if n > BULK),
        "exports": sum(1 for e in period if e.action in exports and e.outcome == "success"),
        "failed_sign_ins": sum(1 for n in by_account.values() if n >= FAILED)
        + sum(1 for n in by_address.values() if n >= FAILED),
        "lockouts": sum(
            1 for e in period if e.action in ("accounts.locked_out", "accounts.sign_in_ceiling")
        ),
        "admin": sum(1 for e in period if e.action in admin),
    }


class TestLists:
    @pytest.mark.parametrize("seed_value", [1, 2, 3])
    def test_each_count_equals_the_true_count(
        self, personas: Any, local: ZoneInfo, seed_value: int
    ) -> None:
        events = seed(personas, local, random.Random(seed_value))
        expected = expected_counts(personas, events, local)
        assert all(expected.values()), expected  # every list has something to find
        lists = review.review_lists(review.Period(START, END))
        assert review.counts_of(lists) == expected
        summary = selectors.activity_review_summary(START, END)
        assert summary["counts"] == expected
        assert summary["reviewed_at"] is None

    def test_a_clinician_at_night_on_a_patient_not_theirs(
        self, personas: Any, local: ZoneInfo, client_for: Any
    ) -> None:
        saturday_night = at(local, START + timedelta(days=5), 23, 30)
        event(saturday_night, **by(personas.clinician), patient_id=personas.other_patient.pk)
        # Their own patient on a weekday afternoon: neither list.
        event(at(local, START, 14), **by(personas.clinician), patient_id=personas.patient.pk)
        lists = review.review_lists(review.Period(START, END))
        [outside] = lists["outside_care_team"].rows
        assert (outside["actor_id"], outside["patient_id"]) == (
            personas.clinician.pk,
            personas.other_patient.pk,
        )
        [late] = lists["after_hours"].rows
        assert late["day"] == (START + timedelta(days=5)) and late["events"] == 1

        page = client_for(personas.privacy_officer).get(
            reverse("audit:activity_review"), {"start": START, "end": END}
        )
        text = page.content.decode()
        assert "Patients opened outside the care team (1)" in text
        assert "Access outside working hours (1)" in text
        assert "Ulrich Beauregard" in text  # the patient, named for the officer
        assert f"actor_id={personas.clinician.pk}" in text  # a link to the events

    def test_the_period_bounds_are_local_days(self, personas: Any, local: ZoneInfo) -> None:
        # 23:30 in Chicago on the last day is 05:30 UTC the next day: inside.
        event(
            at(local, END, 23, 30), **by(personas.clinician), patient_id=personas.other_patient.pk
        )
        # Midnight after the last day: outside.
        event(at(local, END + timedelta(days=1), 0), **by(personas.clinician), patient_id=1)
        lists = review.review_lists(review.Period(START, END))
        assert lists["outside_care_team"].total == 1

    def test_every_query_on_the_events_is_bounded_by_the_period(
        self, personas: Any, local: ZoneInfo
    ) -> None:
        seed(personas, local, random.Random(5))
        with CaptureQueriesContext(connection) as queries:
            review.review_lists(review.Period(START, END))
        on_events = [q["sql"] for q in queries.captured_queries if "audit_auditevent" in q["sql"]]
        assert len(on_events) >= 7
        for sql in on_events:
            assert '"audit_auditevent"."occurred_at" >=' in sql, sql
            assert '"audit_auditevent"."occurred_at" <' in sql, sql

    def test_the_named_action_codes_are_all_registered(self) -> None:
        assert not [code for code in review.NAMED_ACTIONS if not registry.is_registered(code)]


class TestPage:
    @pytest.mark.parametrize("persona", ["patient", "clinician", "records_clerk"])
    def test_only_the_privacy_officer_reaches_it(
        self, personas: Any, client_for: Any, persona: str
    ) -> None:
        client = client_for(getattr(personas, persona))
        assert client.get(reverse("audit:activity_review")).status_code == 404
        response = client.post(
            reverse("audit:activity_review_record"),
            {"start": START, "end": END, "findings": "Nothing"},
        )
        assert response.status_code == 404
        assert not ActivityReview.objects.exists()

    def test_the_default_is_the_last_seven_days_and_each_opening_is_audited(
        self, personas: Any, client_for: Any
    ) -> None:
        client = client_for(personas.privacy_officer)
        assert client.get(reverse("audit:activity_review")).status_code == 200
        client.get(reverse("audit:activity_review"))
        opened = AuditEvent.objects.filter(action="audit.activity_review_viewed")
        assert opened.count() == 2
        today = timezone.localdate()
        details = opened.first().details  # type: ignore[union-attr]
        assert details["start"] == (today - timedelta(days=6)).isoformat()
        assert details["end"] == today.isoformat()
        assert set(details) >= {"outside_care_team", "after_hours", "admin"}

    @pytest.mark.parametrize(
        ("start", "end", "message"),
        [
            ("2026-11-29", "2026-11-23", "must start before it ends"),
            ("2020-01-01", "2026-11-23", "at most a year"),
            ("2026-11-23", "2999-01-01", "cannot end in the future"),
            ("2026-11-23", "not-a-date", "Enter a valid date"),
        ],
    )
    def test_a_bad_period_is_explained(
        self, personas: Any, client_for: Any, start: str, end: str, message: str
    ) -> None:
        response = client_for(personas.privacy_officer).get(
            reverse("audit:activity_review"), {"start": start, "end": end}
        )
        assert response.status_code == 400
        assert message in response.content.decode()


class TestReview:
    def mark(self, client: Any, findings: str, start: date = START, end: date = END) -> Any:
        return client.post(
            reverse("audit:activity_review_record"),
            {"start": start, "end": end, "findings": findings},
        )

    def test_the_officer_marks_a_period_reviewed(
        self, personas: Any, local: ZoneInfo, client_for: Any
    ) -> None:
        events = seed(personas, local, random.Random(7))
        client = client_for(personas.privacy_officer)
        response = self.mark(client, "Event 12: clinician covering a colleague; confirmed.")
        assert response.status_code == 302

        made = ActivityReview.objects.get()
        assert (made.period_start, made.period_end) == (START, END)
        assert made.reviewed_by_id == personas.privacy_officer.pk
        assert made.counts == expected_counts(personas, events, local)
        page = client.get(response["Location"]).content.decode()
        assert "Reviewed " in page and "Not reviewed yet" not in page
        assert "clinician covering a colleague" in page
        event = AuditEvent.objects.get(action="audit.activity_reviewed")
        assert "colleague" not in str(event.details)  # the findings stay in the review
        assert event.details["start"] == START.isoformat()

        summary = selectors.activity_review_summary(START + timedelta(days=1), END)
        assert summary["reviewed_at"] == made.reviewed_at  # a review covering the period
        assert (
            selectors.activity_review_summary(START, END + timedelta(days=1))["reviewed_at"] is None
        )
        assert selectors.last_review() == made
        assert selectors.activity_reviews_in(END, END) == [made]

    @pytest.mark.parametrize(
        ("findings", "end", "message"),
        [
            ("   ", END, "This field is required"),
            ("x" * 5001, END, "at most 5000 characters"),
            ("Fine", date(2999, 1, 1), "cannot end in the future"),
        ],
    )
    def test_refusals_record_nothing(
        self, personas: Any, client_for: Any, findings: str, end: date, message: str
    ) -> None:
        response = self.mark(client_for(personas.privacy_officer), findings, end=end)
        assert response.status_code == 400
        assert message in response.content.decode()
        assert not ActivityReview.objects.exists()
        assert not AuditEvent.objects.filter(action="audit.activity_reviewed").exists()

    def test_markup_in_findings_is_shown_as_text(self, personas: Any, client_for: Any) -> None:
        client = client_for(personas.privacy_officer)
        self.mark(client, "<img src=x onerror=alert(1)>")
        page = client.get(reverse("audit:activity_review")).content.decode()
        assert "<img src=x" not in page
        assert "&lt;img src=x onerror=alert(1)&gt;" in page

    def test_a_review_cannot_be_changed_or_deleted(self, personas: Any, client_for: Any) -> None:
        self.mark(client_for(personas.privacy_officer), "Nothing to report")
        made = ActivityReview.objects.get()
        with pytest.raises(DatabaseError), transaction.atomic():
            ActivityReview.objects.filter(pk=made.pk).update(findings="rewritten")
        with pytest.raises(DatabaseError), transaction.atomic():
            ActivityReview.objects.filter(pk=made.pk).delete()
        assert ActivityReview.objects.get().findings == "Nothing to report"
