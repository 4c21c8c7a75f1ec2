"""Rotation: a new primary without downtime, resumable re-wrap, retirement, all audited."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from audit.models import AuditEvent, Outcome
from encryption import services
from encryption.actions import EncryptionAction
from encryption.errors import KeyringError
from encryption.models import DataKey, Kek, KekState
from tests.encryption.conftest import KEY_2, note_create, note_reload
from tests.encryption.testapp.models import Note

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("two_keys")]


class Interrupted(Exception):
    pass


def notes_bulk_create(count: int) -> list[Note]:
    """``count`` notes with distinct bodies, in a handful of INSERTs."""
    keys = services.data_keys_create(count=count)
    notes = [
        Note(data_key=key, subject=f"s{i}", body=f"body {i:05d} \u00e9\u4e2d")
        for i, key in enumerate(keys)
    ]
    return Note.objects.bulk_create(notes, batch_size=2000)


def run(command: str, *args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(command, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


class TestRotate:
    def test_the_first_configured_key_becomes_primary(self) -> None:
        assert services.kek_primary().key_id == "k1"

    def test_new_data_keys_use_the_new_primary_at_once(self) -> None:
        note_create()
        services.keys_rotate(key_id="k2")
        assert note_create().data_key.kek_id == "k2"

    def test_objects_under_the_old_key_still_read(self) -> None:
        note = note_create(subject="before rotation")
        services.keys_rotate(key_id="k2")
        assert note_reload(note).subject == "before rotation"

    def test_the_database_allows_one_primary(self) -> None:
        services.keys_rotate(key_id="k2")
        assert list(Kek.objects.values_list("key_id", "state").order_by("key_id")) == [
            ("k1", KekState.ACTIVE),
            ("k2", KekState.PRIMARY),
        ]

    def test_a_key_this_server_does_not_have_is_refused(self) -> None:
        with pytest.raises(KeyringError, match="not in ENCRYPTION_KEYS"):
            services.keys_rotate(key_id="k9")

    def test_rotating_to_the_primary_changes_nothing(self) -> None:
        services.kek_primary()
        assert services.keys_rotate(key_id="k1").state == KekState.PRIMARY
        assert not AuditEvent.objects.filter(action=EncryptionAction.KEY_ROTATED).exists()

    def test_rotation_is_audited_with_ids_only(self) -> None:
        services.kek_primary()
        out, _ = run("keys_rotate", "k2")
        event = AuditEvent.objects.get(action=EncryptionAction.KEY_ROTATED)
        assert event.details == {"provider": "local", "key_id": "k2", "previous_key_id": "k1"}
        assert event.actor_label == "command:keys_rotate"
        assert KEY_2 not in str(event.details) and "keys_rewrap" in out


class TestRewrap:
    def test_an_interrupted_rewrap_of_10000_objects_resumes_and_everything_reads(self) -> None:
        notes = notes_bulk_create(10_000)
        services.keys_rotate(key_id="k2")

        def crash_at_half(done: int, total: int) -> None:
            if done >= total // 2:
                raise Interrupted

        with pytest.raises(Interrupted):
            services.keys_rewrap(batch_size=500, on_progress=crash_at_half)
        assert DataKey.objects.filter(kek_id="k2").count() == 5_000

        report = services.keys_rewrap(batch_size=500)
        assert (report.rewrapped, report.remaining) == (5_000, 0)
        reloaded = {n.pk: n.body for n in Note.objects.select_related("data_key")}
        assert reloaded == {n.pk: f"body {i:05d} \u00e9\u4e2d" for i, n in enumerate(notes)}

    def test_running_it_again_does_nothing(self) -> None:
        notes_bulk_create(3)
        services.keys_rotate(key_id="k2")
        services.keys_rewrap()
        assert services.keys_rewrap().rewrapped == 0

    def test_erased_data_keys_are_left_alone(self) -> None:
        note = note_create()
        services.object_erase(obj=note)
        services.keys_rotate(key_id="k2")
        assert services.keys_rewrap().rewrapped == 0

    def test_the_command_shows_progress_and_a_final_count(self) -> None:
        notes_bulk_create(30)
        services.keys_rotate(key_id="k2")
        out, err = run("keys_rewrap", "--batch-size", "10")
        assert "30/30 data keys" in err and "#" * 30 in err
        assert out.startswith("Re-wrapped 30 data keys under k2; 0 remain")

    def test_each_batch_is_audited(self) -> None:
        notes_bulk_create(25)
        services.keys_rotate(key_id="k2")
        run("keys_rewrap", "--batch-size", "10")
        events = AuditEvent.objects.filter(action=EncryptionAction.KEYS_REWRAPPED)
        assert sorted(e.details["count"] for e in events) == [5, 10, 10]
        assert all(e.details["from_key_ids"] == ["k1"] for e in events)


class TestRetire:
    def test_a_key_still_in_use_is_refused_and_the_refusal_audited(self) -> None:
        note_create()
        services.keys_rotate(key_id="k2")
        with pytest.raises(CommandError, match="still wraps 1 data keys"):
            run("keys_retire", "k1")
        event = AuditEvent.objects.get(action=EncryptionAction.KEY_RETIRED)
        assert (event.outcome, event.details["reason"]) == (Outcome.DENIED, "in_use")

    def test_the_primary_cannot_be_retired(self) -> None:
        services.kek_primary()
        with pytest.raises(KeyringError, match="is the primary"):
            services.kek_retire(key_id="k1")

    def test_after_rewrap_the_old_key_retires_and_can_leave_the_environment(
        self, settings: Any
    ) -> None:
        note = note_create(subject="survives")
        services.keys_rotate(key_id="k2")
        services.keys_rewrap()
        assert services.kek_retire(key_id="k1").state == KekState.RETIRED
        settings.ENCRYPTION_KEYS = f"k2:{KEY_2}"
        assert note_reload(note).subject == "survives"

    def test_a_retired_key_cannot_become_primary_again(self) -> None:
        services.kek_primary()
        services.keys_rotate(key_id="k2")
        services.kek_retire(key_id="k1")
        with pytest.raises(KeyringError, match="retired"):
            services.keys_rotate(key_id="k1")


class TestStatus:
    def test_lists_keys_with_their_state_and_use(self) -> None:
        note_create()
        out, _ = run("keys_status")
        assert "k1" in out and "primary" in out and "1 data keys" in out
        assert "k2" in out and "configured, not yet used" in out


class TestGenerate:
    def test_prints_a_key_in_the_keyring_format(self) -> None:
        from encryption.keyring import local_keys_parse

        out, _ = run("keys_generate", "2025-06")
        assert list(local_keys_parse(out.strip())) == ["2025-06"]
        assert not Kek.objects.filter(key_id="2025-06").exists()  # nothing stored
