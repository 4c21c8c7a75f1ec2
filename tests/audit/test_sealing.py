from __future__ import annotations

from typing import Any

import psycopg
import pytest
from django.core.management import call_command

from audit import chain
from audit.models import AuditCheckpoint, AuditEvent, AuditSeal
from audit.sealing import _SEAL_LOCK, events_seal
from audit.signing import signing_key
from audit.tasks import seal_events
from audit.verification import chain_verify

from .conftest import INSERT_MINIMAL_EVENT, record, rolled_back_id


def _sealed_ids() -> list[int]:
    return list(AuditSeal.objects.order_by("event_id").values_list("event_id", flat=True))


@pytest.mark.django_db
class TestEventsSeal:
    def test_it_chains_events_in_sequence_order(self) -> None:
        events = record(3)
        events_seal()
        seals = list(AuditSeal.objects.order_by("event_id"))
        assert [s.event_id for s in seals] == [e.pk for e in events]
        assert [s.prev_hash for s in seals] == [chain.GENESIS, seals[0].hash, seals[1].hash]

    def test_it_is_idempotent(self) -> None:
        record(3)
        first = events_seal()
        again = events_seal()
        assert (first.sealed, again.sealed) == (3, 0)
        assert AuditSeal.objects.count() == 3

    def test_it_resumes_where_an_interrupted_run_stopped(self) -> None:
        events = record(5)
        events_seal(batch_size=2, max_batches=1)
        assert _sealed_ids() == [e.pk for e in events[:2]]
        events_seal(batch_size=2)
        assert _sealed_ids() == [e.pk for e in events]
        assert chain_verify(record=False).ok

    def test_it_signs_a_checkpoint_for_each_batch(self) -> None:
        events = record(5)
        events_seal(batch_size=2)
        checkpoints = list(AuditCheckpoint.objects.values_list("through_event_id", "count"))
        assert checkpoints == [(events[1].pk, 2), (events[3].pk, 4), (events[4].pk, 5)]
        signed = {(c.algorithm, c.key_id) for c in AuditCheckpoint.objects.all()}
        assert signed == {("ed25519", chain.public_key_id(signing_key().public_key()))}

    def test_it_chains_over_ids_left_unused_by_rollbacks(self) -> None:
        before = record(1)[0]
        gap = rolled_back_id()
        after = record(1)[0]
        events_seal()
        assert _sealed_ids() == [before.pk, after.pk]
        assert AuditSeal.objects.get(pk=after.pk).prev_event_id == before.pk
        assert gap not in _sealed_ids()

    def test_it_does_not_pass_a_lower_id_still_held_by_an_open_transaction(
        self, other_connection: psycopg.Connection[Any]
    ) -> None:
        other_connection.execute(
            INSERT_MINIMAL_EVENT
        )  # in flight: holds a lower id than the event below
        mine = record(1)[0]
        report = events_seal(wait_seconds=0.2)
        assert report.held_back and report.sealed == 0
        other_connection.rollback()
        events_seal(wait_seconds=0.2)
        assert _sealed_ids() == [mine.pk]

    def test_a_second_sealer_backs_off_while_one_is_sealing(
        self, other_connection: psycopg.Connection[Any]
    ) -> None:
        record(2)
        other_connection.execute("SELECT pg_advisory_lock(%s, %s)", _SEAL_LOCK)
        try:
            report = events_seal()
        finally:
            other_connection.execute("SELECT pg_advisory_unlock(%s, %s)", _SEAL_LOCK)
        assert report.busy and not AuditSeal.objects.exists()


@pytest.mark.django_db
class TestSealingEntryPoints:
    def test_the_beat_task_seals(self) -> None:
        record(2)
        assert seal_events() == 2

    def test_the_command_seals_and_records_that_it_ran(self) -> None:
        record(2)
        call_command("audit_seal", stdout=None)
        assert AuditSeal.objects.count() == 2
        ran = AuditEvent.objects.get(action="audit.sealed")
        assert (ran.actor_label, ran.details["sealed"]) == ("audit_seal command", 2)
