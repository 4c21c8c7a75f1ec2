"""Each way of tampering is found, at the right sequence number.

Tampering is done as a database superuser would: with the triggers switched off.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from audit import chain
from audit.actions import AuditAction
from audit.models import AuditCheckpoint, AuditEvent, AuditSeal, Outcome
from audit.sealing import events_seal, keyring
from audit.tasks import chain_verify_nightly
from audit.verification import chain_verify

from .conftest import INSERT_MINIMAL_EVENT_WITH_ID, record, rolled_back_id, triggers_disabled

FORGED_KEY = chain.derive_key("what an attacker might guess").secret


@pytest.fixture
def events(db: None) -> list[AuditEvent]:
    """Five sealed events in two batches (two checkpoints), plus one not yet sealed."""
    sealed = record(5, details={"thread_id": 3})
    events_seal(batch_size=3)
    record(1)
    return sealed


def _first_bad() -> int | None:
    return chain_verify(record=False).first_bad_event_id


@pytest.mark.django_db
class TestChainVerify:
    def test_an_untouched_chain_verifies(self, events: list[AuditEvent]) -> None:
        report = chain_verify(record=False)
        assert report.ok
        assert (report.events_checked, report.checkpoints_checked) == (5, 2)

    def test_it_reports_events_not_yet_sealed(self, events: list[AuditEvent]) -> None:
        assert chain_verify(record=False).unsealed == 1

    def test_it_finds_an_edited_field(self, events: list[AuditEvent]) -> None:
        with triggers_disabled() as cursor:
            cursor.execute(
                "UPDATE audit_auditevent SET outcome = 'denied' WHERE id = %s", [events[2].pk]
            )
        assert _first_bad() == events[2].pk

    def test_it_finds_edited_details(self, events: list[AuditEvent]) -> None:
        with triggers_disabled() as cursor:
            cursor.execute(
                """UPDATE audit_auditevent SET details = '{"thread_id": 4}' WHERE id = %s""",
                [events[1].pk],
            )
        assert _first_bad() == events[1].pk

    def test_it_finds_a_deleted_event(self, events: list[AuditEvent]) -> None:
        with triggers_disabled() as cursor:
            cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [events[1].pk])
        assert _first_bad() == events[1].pk

    def test_it_finds_an_event_deleted_with_its_seal(self, events: list[AuditEvent]) -> None:
        with triggers_disabled() as cursor:
            cursor.execute("DELETE FROM audit_auditseal WHERE event_id = %s", [events[3].pk])
            cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [events[3].pk])
        assert _first_bad() == events[3].pk

    def test_it_finds_the_end_of_the_chain_cut_off(self, events: list[AuditEvent]) -> None:
        with triggers_disabled() as cursor:
            cursor.execute("DELETE FROM audit_auditseal WHERE event_id = %s", [events[4].pk])
            cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [events[4].pk])
        assert _first_bad() == events[4].pk

    def test_it_finds_two_swapped_rows(self, events: list[AuditEvent]) -> None:
        record(1, action="audit.exported", details={"format": "csv"})
        events_seal()
        swapped = (events[1].pk, AuditEvent.objects.get(action="audit.exported").pk)
        with triggers_disabled() as cursor:
            cursor.execute(
                """UPDATE audit_auditevent a SET action = b.action, details = b.details,
                   occurred_at = b.occurred_at, request_id = b.request_id
                   FROM audit_auditevent b WHERE (a.id, b.id) IN ((%s, %s), (%s, %s))""",
                [swapped[0], swapped[1], swapped[1], swapped[0]],
            )
        assert _first_bad() == swapped[0]

    def test_it_finds_an_inserted_row_with_a_forged_seal(self, db: None) -> None:
        before = record(1)[0]
        gap = rolled_back_id()
        record(2)
        events_seal()
        head = AuditSeal.objects.get(pk=before.pk).hash
        with triggers_disabled() as cursor:
            cursor.execute(
                "INSERT INTO audit_auditevent (id, occurred_at, actor_kind, actor_role, "
                "actor_label, action, target_type, target_id, outcome, user_agent, request_id, "
                "details) SELECT %s, occurred_at, actor_kind, actor_role, actor_label, "
                "'accounts.sign_in', '', '', 'success', '', '', '{}' "
                "FROM audit_auditevent WHERE id = %s",
                [gap, before.pk],
            )
            cursor.execute(f"SELECT {_columns()} FROM audit_auditevent e WHERE id = %s", [gap])
            forged = chain.seal_hash(
                FORGED_KEY, before.pk, head, chain.canonical(cursor.fetchone())
            )
            cursor.execute(
                "INSERT INTO audit_auditseal VALUES (%s, %s, %s, %s, %s)",
                [gap, before.pk, head, forged, keyring().current.key_id],
            )
        assert _first_bad() == gap

    def test_it_finds_an_inserted_row_without_a_seal(self, db: None) -> None:
        record(1)
        gap = rolled_back_id()
        record(1)
        events_seal()
        with triggers_disabled() as cursor:
            cursor.execute(INSERT_MINIMAL_EVENT_WITH_ID, [gap])
        assert _first_bad() == gap

    def test_it_finds_a_forged_checkpoint(self, events: list[AuditEvent]) -> None:
        checkpoint = AuditCheckpoint.objects.first()
        assert checkpoint is not None
        with triggers_disabled() as cursor:
            cursor.execute(
                "UPDATE audit_auditcheckpoint SET count = count + 1, signature = %s WHERE id = %s",
                [chain.checkpoint_signature(FORGED_KEY, b"anything"), checkpoint.pk],
            )
        assert _first_bad() == checkpoint.through_event_id

    def test_it_finds_a_checkpoint_signed_with_an_unknown_key(
        self, events: list[AuditEvent]
    ) -> None:
        with triggers_disabled() as cursor:
            cursor.execute("UPDATE audit_auditcheckpoint SET key_id = 'feedfeedfeedfeed'")
        assert _first_bad() == AuditCheckpoint.objects.first().through_event_id  # type: ignore[union-attr]

    def test_seals_made_with_a_retired_key_still_verify(self, settings: object) -> None:
        record(2)
        events_seal()
        old = settings.AUDIT_SEAL_KEY  # type: ignore[attr-defined]
        settings.AUDIT_SEAL_KEY = "a rotated key, also long enough to be real"  # type: ignore[attr-defined]
        settings.AUDIT_SEAL_RETIRED_KEYS = [old]  # type: ignore[attr-defined]
        record(1)
        events_seal()
        assert chain_verify(record=False).ok


def _columns() -> str:
    from audit.sealing import _EVENT_COLUMNS

    return _EVENT_COLUMNS


@pytest.mark.django_db
class TestVerifyCommand:
    def test_it_reports_success_and_the_unsealed_count(self, events: list[AuditEvent]) -> None:
        out = io.StringIO()
        call_command("audit_verify", stdout=out)
        assert "5 sealed events" in out.getvalue() and "1 events not yet sealed" in out.getvalue()

    def test_it_fails_naming_the_first_bad_sequence_number(self, events: list[AuditEvent]) -> None:
        with triggers_disabled() as cursor:
            cursor.execute(
                "UPDATE audit_auditevent SET ip = '10.9.9.9' WHERE id = %s", [events[0].pk]
            )
        with pytest.raises(CommandError, match=f"sequence number {events[0].pk}:") as failure:
            call_command("audit_verify")
        assert failure.value.returncode != 0

    def test_each_run_is_itself_an_event(self, events: list[AuditEvent]) -> None:
        call_command("audit_verify", stdout=io.StringIO())
        verified = AuditEvent.objects.get(action="audit.verified")
        assert verified.actor_label == "audit_verify command"
        assert verified.details == {
            "events_checked": 5,
            "checkpoints_checked": 2,
            "unsealed": 1,
            "through_event_id": events[-1].pk,  # the last one verified
        }

    def test_a_failed_run_is_recorded_as_an_error(self, events: list[AuditEvent]) -> None:
        with triggers_disabled() as cursor:
            cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [events[0].pk])
        with pytest.raises(CommandError):
            call_command("audit_verify")
        verified = AuditEvent.objects.get(action="audit.verified")
        assert (verified.outcome, verified.details["first_bad_event_id"]) == ("error", events[0].pk)


@pytest.mark.django_db
class TestNightlyVerification:
    """The beat task that keeps "last successful audit_verify" current."""

    def test_it_runs_before_the_digest_that_reports_it(self, settings: Any) -> None:
        schedule = settings.CELERY_BEAT_SCHEDULE
        verify, digest = schedule["audit-verify"], schedule["audit-digest"]
        assert verify["task"] == chain_verify_nightly.name

        def at(entry: dict[str, Any]) -> tuple[int, int]:
            return min(entry["schedule"].hour), min(entry["schedule"].minute)

        assert at(verify) < at(digest)

    def test_an_intact_chain_is_recorded_as_verified(self, events: list[AuditEvent]) -> None:
        assert chain_verify_nightly.delay().get() is True
        run = AuditEvent.objects.filter(action=AuditAction.VERIFIED).get()
        assert run.outcome == Outcome.SUCCESS
        assert run.details["events_checked"] == 5

    def test_a_broken_chain_is_recorded_and_logged_by_number_only(
        self, events: list[AuditEvent], caplog: Any
    ) -> None:
        with triggers_disabled() as cursor:
            cursor.execute(
                """UPDATE audit_auditevent SET details = '{"thread_id": 4}' WHERE id = %s""",
                [events[1].pk],
            )
        assert chain_verify_nightly.delay().get() is False
        run = AuditEvent.objects.filter(action=AuditAction.VERIFIED).get()
        assert run.outcome == Outcome.ERROR
        assert run.details["first_bad_event_id"] == events[1].pk
        [line] = [r for r in caplog.records if r.levelname == "ERROR"]
        assert f"event {events[1].pk}" in line.getMessage()
        assert "thread_id" not in line.getMessage()
