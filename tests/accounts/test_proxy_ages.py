"""The daily age job: a parent's link narrowed at the first age, ended at the second,
recorded once and told once, without health information (45 CFR 164.502(g)(3))."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command

from accounts import tasks
from accounts.models import PatientProfile, ProxyKind, ProxyLink, ProxyScope, User
from accounts.services.proxies import parent_links_due
from audit.models import AuditEvent
from tests.accounts.proxy_factories import link_made, make_proxy
from tests.conftest import body_text

pytestmark = pytest.mark.django_db

BORN = date(2010, 6, 15)


def morning(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 6, 15, tzinfo=ZoneInfo(settings.TIME_ZONE))


@pytest.fixture
def parent_link(personas: Any) -> ProxyLink:
    PatientProfile.objects.filter(user=personas.patient).update(date_of_birth=BORN)
    return link_made(
        proxy=make_proxy(),
        patient=personas.patient,
        by=personas.records_clerk,
        kind=ProxyKind.PARENT,
    )


@pytest.fixture
def run_on(django_capture_on_commit_callbacks: Any) -> Any:
    """Run the beat task on ``day``'s morning, its e-mails sent after commit."""

    def run(day: date) -> dict[str, int]:
        with time_machine.travel(morning(day)), django_capture_on_commit_callbacks(execute=True):
            return tasks.proxy_ages_apply.delay().get()

    return run


def actions_for(link: ProxyLink) -> list[str]:
    return list(
        AuditEvent.objects.filter(target_id=str(link.pk), action__contains="proxy_link_")
        .order_by("id")
        .values_list("action", flat=True)
    )


class TestTheDailyAgeJob:
    def test_the_day_before_twelve_nothing_changes(
        self, parent_link: ProxyLink, run_on: Any, smtp_server: Any
    ) -> None:
        assert run_on(date(2022, 6, 14)) == {"narrowed": 0, "aged_out": 0}
        parent_link.refresh_from_db()
        assert parent_link.narrowed_at is None
        assert len(parent_link.scopes) == len(ProxyScope.values)
        assert smtp_server.messages == []

    def test_at_twelve_the_link_is_narrowed_and_both_are_told(
        self, parent_link: ProxyLink, run_on: Any, smtp_server: Any, personas: Any
    ) -> None:
        assert run_on(date(2022, 6, 15)) == {"narrowed": 1, "aged_out": 0}
        parent_link.refresh_from_db()
        assert parent_link.narrowed_at is not None and parent_link.aged_out_at is None
        assert sorted(parent_link.scopes) == [ProxyScope.READ_MESSAGES, ProxyScope.SEND_MESSAGES]
        assert actions_for(parent_link) == ["accounts.proxy_link_narrowed"]
        event = AuditEvent.objects.get(action="accounts.proxy_link_narrowed")
        assert event.patient_id == personas.patient.pk
        told = sorted(m["X-Envelope-To"] for m in smtp_server.messages)
        assert told == sorted([parent_link.proxy.email, personas.patient.email])

    def test_the_day_before_eighteen_nothing_new(
        self, parent_link: ProxyLink, run_on: Any, smtp_server: Any
    ) -> None:
        run_on(date(2022, 6, 15))
        assert run_on(date(2028, 6, 14)) == {"narrowed": 0, "aged_out": 0}
        parent_link.refresh_from_db()
        assert parent_link.aged_out_at is None
        assert actions_for(parent_link) == ["accounts.proxy_link_narrowed"]
        assert len(smtp_server.messages) == 2  # the narrowing's, six years before

    def test_at_eighteen_the_link_ends_and_both_are_told(
        self, parent_link: ProxyLink, run_on: Any, smtp_server: Any, personas: Any
    ) -> None:
        run_on(date(2022, 6, 15))
        assert run_on(date(2028, 6, 15)) == {"narrowed": 0, "aged_out": 1}
        parent_link.refresh_from_db()
        assert parent_link.aged_out_at is not None
        assert actions_for(parent_link) == [
            "accounts.proxy_link_narrowed",
            "accounts.proxy_link_aged_out",
        ]
        told = sorted(m["X-Envelope-To"] for m in smtp_server.messages[2:])
        assert told == sorted([parent_link.proxy.email, personas.patient.email])

    def test_a_missed_day_still_ends_the_link_of_someone_past_eighteen(
        self, parent_link: ProxyLink, run_on: Any, smtp_server: Any
    ) -> None:
        assert run_on(date(2030, 1, 3)) == {"narrowed": 0, "aged_out": 1}
        assert actions_for(parent_link) == ["accounts.proxy_link_aged_out"]

    def test_a_second_run_changes_nothing_and_sends_nothing(
        self, parent_link: ProxyLink, run_on: Any, smtp_server: Any
    ) -> None:
        run_on(date(2022, 6, 15))
        assert run_on(date(2022, 6, 15)) == {"narrowed": 0, "aged_out": 0}
        run_on(date(2028, 6, 15))
        assert run_on(date(2028, 6, 16)) == {"narrowed": 0, "aged_out": 0}
        assert len(smtp_server.messages) == 4  # one each, at each threshold
        assert len(actions_for(parent_link)) == 2

    def test_a_link_already_within_the_limited_scope_is_not_narrowed(
        self, personas: Any, run_on: Any, smtp_server: Any
    ) -> None:
        PatientProfile.objects.filter(user=personas.patient).update(date_of_birth=BORN)
        link = link_made(
            proxy=make_proxy(),
            patient=personas.patient,
            by=personas.records_clerk,
            kind=ProxyKind.PARENT,
            scopes=[ProxyScope.READ_MESSAGES],
        )
        assert run_on(date(2022, 6, 15)) == {"narrowed": 0, "aged_out": 0}
        link.refresh_from_db()
        assert link.narrowed_at is None and smtp_server.messages == []

    def test_other_kinds_of_link_and_ended_links_are_left_alone(
        self, parent_link: ProxyLink, personas: Any
    ) -> None:
        guardian = link_made(
            proxy=make_proxy("gwen.guardian@mail.test", "Gwen Okonkwo-Guardian"),
            patient=personas.patient,
            by=personas.records_clerk,
        )
        with time_machine.travel(morning(date(2030, 1, 3))):
            due = list(parent_links_due(date(2030, 1, 3)))
        assert due == [parent_link]
        assert guardian not in due
        ProxyLink.objects.filter(pk=parent_link.pk).update(revoked_at=morning(date(2026, 1, 1)))
        assert list(parent_links_due(date(2030, 1, 3))) == []

    def test_younger_children_and_narrowed_links_are_not_read(
        self, parent_link: ProxyLink, run_on: Any
    ) -> None:
        assert list(parent_links_due(date(2022, 6, 14))) == []
        run_on(date(2022, 6, 15))
        assert list(parent_links_due(date(2025, 3, 1))) == []

    def test_a_suspended_links_proxy_is_not_told_but_the_patient_is(
        self, parent_link: ProxyLink, run_on: Any, smtp_server: Any, personas: Any
    ) -> None:
        ProxyLink.objects.filter(pk=parent_link.pk).update(suspended_at=morning(date(2021, 1, 4)))
        assert run_on(date(2028, 6, 15)) == {"narrowed": 0, "aged_out": 1}
        assert [m["X-Envelope-To"] for m in smtp_server.messages] == [personas.patient.email]

    def test_the_command_runs_the_same_job(self, parent_link: ProxyLink) -> None:
        with time_machine.travel(morning(date(2022, 6, 15))):
            call_command("proxy_ages_apply")
        assert actions_for(parent_link) == ["accounts.proxy_link_narrowed"]


class TestTheNotice:
    def test_it_names_no_one_and_is_in_the_recipients_language(
        self, parent_link: ProxyLink, run_on: Any, smtp_server: Any, personas: Any
    ) -> None:
        User.objects.filter(pk=personas.patient.pk).update(language="es")
        run_on(date(2022, 6, 15))
        by_address = {m["X-Envelope-To"]: m for m in smtp_server.messages}
        to_patient = by_address[personas.patient.email]
        to_proxy = by_address[parent_link.proxy.email]
        assert 'lang="es"' in body_text(to_patient)
        assert 'lang="en"' in body_text(to_proxy)
        assert "to act for someone" in body_text(to_proxy)
        assert settings.ORGANISATION_NAME in body_text(to_patient)
        for message in (to_patient, to_proxy):
            text = (str(message["Subject"]) + body_text(message)).lower()
            for name in (personas.patient.full_name, parent_link.proxy.full_name):
                assert all(part.lower() not in text for part in name.split())
            assert "mrn" not in text


def test_beat_runs_the_job_every_morning() -> None:
    entry: dict[str, Any] = settings.CELERY_BEAT_SCHEDULE["proxy-ages"]
    assert entry["task"] == tasks.proxy_ages_apply.name
    assert entry["schedule"].hour == {6}
