"""Rotation: a new primary without downtime, resumable re-wrap, retirement, all audited."""

from __future__ import annotations

import base64
import io
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEvent, Outcome
from encryption import services
from encryption.actions import EncryptionAction
from encryption.errors import KeyringError
from encryption.keyring import LocalProvider
from encryption.models import DataKey, Kek, KekState
from tests.encryption.conftest import KEY_1, KEY_2, note_create, note_reload
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


class OtherConnection(threading.Thread):
    """Runs ``work`` in a thread, so on a database connection (and transaction) of its own."""

    def __init__(self, work: Callable[[], Any]) -> None:
        super().__init__(daemon=True)
        self.work = work
        self.result: Any = None
        self.error: BaseException | None = None
        self.backend_pid: int | None = None
        self.started_work = threading.Event()

    def run(self) -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                self.backend_pid = cursor.fetchone()[0]
            self.started_work.set()
            self.result = self.work()
        except BaseException as error:
            self.error = error
        finally:
            connection.close()

    def finish(self) -> Any:
        self.join(timeout=30)
        assert not self.is_alive(), "the other connection never finished"
        return self.result


def in_other_connection(work: Callable[[], Any]) -> OtherConnection:
    thread = OtherConnection(work)
    thread.start()
    thread.finish()
    return thread


def wait_until_blocked_on_a_lock(thread: OtherConnection) -> None:
    """Until the thread's backend waits for a lock (pg_locks is read live, not snapshotted)."""
    assert thread.started_work.wait(timeout=10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_locks WHERE pid = %s AND NOT granted",
                [thread.backend_pid],
            )
            if cursor.fetchone()[0]:
                return
        assert thread.is_alive(), f"finished without waiting: {thread.error!r}"
        time.sleep(0.02)
    raise AssertionError("the other connection never waited for a lock")


def wrapped_bytes(data_key: DataKey) -> bytes:
    assert data_key.wrapped is not None
    return bytes(data_key.wrapped)


def once_at_wrap(monkeypatch: pytest.MonkeyPatch, key_id: str, hook: Callable[[], object]) -> None:
    """Run ``hook`` just before the first wrap under ``key_id`` made by this thread."""
    original, me = LocalProvider.wrap, threading.current_thread()
    fired: list[bool] = []

    def wrap(self: LocalProvider, kek_id: str, dek: bytes, *, dek_id: str) -> bytes:
        if kek_id == key_id and threading.current_thread() is me and not fired:
            fired.append(True)
            hook()
        return original(self, kek_id, dek, dek_id=dek_id)

    monkeypatch.setattr(LocalProvider, "wrap", wrap)


def rotate_and_retire(new: str, old: str) -> None:
    services.keys_rotate(key_id=new)
    services.kek_retire(key_id=old)


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
        assert (event.target_type, event.target_id) == (
            "encryption.kek",
            str(Kek.objects.get(key_id="k2").pk),
        )
        assert "keys_rewrap" in out


def kek_reads(queries: CaptureQueriesContext) -> list[str]:
    """The statements that read the KEK table (the primary, or its row lock)."""
    return [q["sql"] for q in queries.captured_queries if '"encryption_kek"' in q["sql"]]


def primary_changed_elsewhere(old_state: str) -> None:
    """What another process's rotation (and retirement) leaves: k2 primary, k1 not."""
    Kek.objects.filter(key_id="k1").update(state=old_state)
    Kek.objects.create(key_id="k2", provider="local", state=KekState.PRIMARY)


class TestPrimaryRemembered:
    """A process remembers the primary briefly; the write's row lock still has the last word."""

    def test_keys_made_again_soon_read_only_the_kek_row_lock(self) -> None:
        services.data_keys_create(count=1)
        with CaptureQueriesContext(connection) as queries:
            services.data_keys_create(count=3)
        [lock] = kek_reads(queries)
        assert "FOR KEY SHARE" in lock

    def test_a_rotation_in_another_process_is_used_at_the_next_key(self) -> None:
        services.data_key_create()  # k1 remembered
        primary_changed_elsewhere(KekState.ACTIVE)
        assert services.data_key_create().kek_id == "k2"
        assert DataKey.objects.filter(kek_id="k1").count() == 1  # only the first

    def test_a_remembered_primary_retired_elsewhere_is_replaced_not_refused(self) -> None:
        services.data_key_create()
        primary_changed_elsewhere(KekState.RETIRED)
        note = note_create(subject="after the retirement")
        assert note.data_key.kek_id == "k2"
        assert note_reload(note).subject == "after the retirement"

    def test_a_change_of_the_keys_setting_forgets_it(self, settings: Any) -> None:
        services.data_key_create()
        settings.ENCRYPTION_KEYS = f"k1:{KEY_1},k2:{KEY_2}"  # the same keys, set again
        with CaptureQueriesContext(connection) as queries:
            services.data_key_create()
        assert len(kek_reads(queries)) == 2  # the primary read again, then the lock


class TestKeysSavedLater:
    """``data_keys_wrap`` now, ``data_keys_save`` in the caller's transaction later."""

    def test_keys_whose_kek_was_retired_meanwhile_are_saved_under_the_primary(self) -> None:
        keys = services.data_keys_wrap(count=2)
        primary_changed_elsewhere(KekState.RETIRED)
        with transaction.atomic():
            services.data_keys_save(keys)
        assert set(DataKey.objects.values_list("kek_id", flat=True)) == {"k2"}
        note = Note.objects.create(data_key=keys[0], subject="s", body="saved under k2")
        assert note_reload(note).body == "saved under k2"  # unwrapped from the row, under k2

    def test_keys_whose_kek_was_rotated_meanwhile_are_saved_under_the_new_primary(
        self,
    ) -> None:
        keys = services.data_keys_wrap(count=1)
        primary_changed_elsewhere(KekState.ACTIVE)
        with transaction.atomic():
            services.data_keys_save(keys)
        assert DataKey.objects.get().kek_id == "k2"
        assert services.data_keys_wrap(count=1)[0].kek_id == "k2"  # read afresh since


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

    def test_a_crash_inside_a_batch_changes_nothing_in_it_and_a_rerun_finishes(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        notes = notes_bulk_create(25)
        services.keys_rotate(key_id="k2")
        before = {dk.pk: (dk.kek_id, wrapped_bytes(dk)) for dk in DataKey.objects.all()}
        original, wraps = LocalProvider.wrap, []

        def wrap_fails_in_the_second_batch(
            self: LocalProvider, kek_id: str, dek: bytes, *, dek_id: str
        ) -> bytes:
            wraps.append(dek_id)
            if len(wraps) == 17:  # the 7th key of the second batch of 10
                raise Interrupted
            return original(self, kek_id, dek, dek_id=dek_id)

        monkeypatch.setattr(LocalProvider, "wrap", wrap_fails_in_the_second_batch)
        with pytest.raises(Interrupted):
            services.keys_rewrap(batch_size=10)

        first_batch = sorted(before)[:10]
        after = {dk.pk: (dk.kek_id, wrapped_bytes(dk)) for dk in DataKey.objects.all()}
        assert sorted(pk for pk, (kek_id, _) in after.items() if kek_id == "k2") == first_batch
        # Everything outside the committed first batch, the half-done second one included,
        # is exactly as it was: same KEK, same wrapped bytes, no re-wrap stamp.
        assert {pk: after[pk] for pk in before if pk not in first_batch} == {
            pk: before[pk] for pk in before if pk not in first_batch
        }
        assert not DataKey.objects.exclude(pk__in=first_batch).filter(rewrapped_at__isnull=False)
        events = AuditEvent.objects.filter(action=EncryptionAction.KEYS_REWRAPPED)
        assert [e.details for e in events] == [{"count": 10, "from_key_ids": ["k1"]}]

        monkeypatch.setattr(LocalProvider, "wrap", original)
        report = services.keys_rewrap(batch_size=10)
        assert (report.rewrapped, report.remaining, report.primary_key_id) == (15, 0, "k2")
        assert not DataKey.objects.exclude(kek_id="k2").exists()
        reloaded = {n.pk: (n.subject, n.body) for n in Note.objects.select_related("data_key")}
        assert reloaded == {
            n.pk: (f"s{i}", f"body {i:05d} \u00e9\u4e2d") for i, n in enumerate(notes)
        }

    def test_a_rotation_during_a_run_takes_effect_at_the_next_batch(self, settings: Any) -> None:
        key_3 = base64.urlsafe_b64encode(b"3" * 32).decode()
        settings.ENCRYPTION_KEYS = f"k1:{KEY_1},k2:{KEY_2},k3:{key_3}"
        notes_bulk_create(25)
        services.keys_rotate(key_id="k2")

        def rotate_after_the_first_batch(done: int, total: int) -> None:
            if done == 10:
                services.keys_rotate(key_id="k3")

        report = services.keys_rewrap(batch_size=10, on_progress=rotate_after_the_first_batch)
        assert (report.rewrapped, report.remaining, report.primary_key_id) == (25, 10, "k3")
        assert DataKey.objects.filter(kek_id="k2").count() == 10
        assert DataKey.objects.filter(kek_id="k3").count() == 15
        assert services.keys_rewrap().rewrapped == 10
        assert set(DataKey.objects.values_list("kek_id", flat=True)) == {"k3"}
        assert len({n.body for n in Note.objects.all()}) == 25

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
        k2 = Kek.objects.get(key_id="k2")
        assert sorted(
            (e.details["count"], e.details["from_key_ids"], e.target_type, e.target_id)
            for e in events
        ) == [(count, ["k1"], "encryption.kek", str(k2.pk)) for count in (5, 10, 10)]
        assert all(set(e.details) == {"count", "from_key_ids"} for e in events)


class TestRetire:
    def test_a_key_still_in_use_is_refused_and_the_refusal_audited(self) -> None:
        note_create()
        services.keys_rotate(key_id="k2")
        with pytest.raises(CommandError, match="still wraps 1 data keys"):
            run("keys_retire", "k1")
        event = AuditEvent.objects.get(action=EncryptionAction.KEY_RETIRED)
        assert event.outcome == Outcome.DENIED
        assert event.details == {"key_id": "k1", "reason": "in_use"}
        assert (event.target_type, event.target_id) == (
            "encryption.kek",
            str(Kek.objects.get(key_id="k1").pk),
        )

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


@pytest.mark.django_db(transaction=True)  # a second connection must see committed rows
class TestRetireRaces:
    """Retirement from another connection, interleaved with writes under the same KEK."""

    def test_retired_between_the_primary_read_and_the_insert_the_create_is_refused(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        services.kek_primary()
        # This process has read k1 as primary and is wrapping under it when another
        # connection rotates to k2 and retires k1 (no data key uses it yet).
        once_at_wrap(
            monkeypatch, "k1", lambda: in_other_connection(lambda: rotate_and_retire("k2", "k1"))
        )
        with pytest.raises(KeyringError, match="was retired"):
            services.data_key_create()
        assert Kek.objects.get(key_id="k1").state == KekState.RETIRED
        assert not DataKey.objects.exists()  # nothing under the retired key
        assert note_create().data_key.kek_id == "k2"  # the retry uses the new primary

    def test_retiring_while_an_insert_is_open_waits_for_it_and_is_refused(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        services.kek_primary()
        once_at_wrap(
            monkeypatch,
            "k1",
            lambda: in_other_connection(lambda: services.keys_rotate(key_id="k2")),
        )
        retire = OtherConnection(lambda: services.kek_retire(key_id="k1"))
        original_lock = services._kek_lock

        def lock_then_let_retire_try(key_id: str) -> tuple[str, str] | None:
            row = original_lock(key_id)
            # From here to the commit, retire must wait for this transaction instead of
            # counting zero data keys (the INSERT is not committed) and retiring k1.
            retire.start()
            wait_until_blocked_on_a_lock(retire)
            return row

        monkeypatch.setattr(services, "_kek_lock", lock_then_let_retire_try)
        data_key = services.data_key_create()
        retire.finish()
        assert isinstance(retire.error, KeyringError)
        assert "still wraps 1 data keys" in str(retire.error)
        assert (
            (DataKey.objects.get().kek_id, Kek.objects.get(key_id="k1").state)
            == (
                data_key.kek_id,
                KekState.ACTIVE,
            )
            == ("k1", KekState.ACTIVE)
        )

    def test_a_rewrap_target_retired_mid_batch_rolls_the_batch_back(
        self, monkeypatch: pytest.MonkeyPatch, settings: Any
    ) -> None:
        key_3 = base64.urlsafe_b64encode(b"3" * 32).decode()
        settings.ENCRYPTION_KEYS = f"k1:{KEY_1},k2:{KEY_2},k3:{key_3}"
        notes = notes_bulk_create(3)
        services.keys_rotate(key_id="k2")
        before = {dk.pk: wrapped_bytes(dk) for dk in DataKey.objects.all()}
        # The batch has read k2 as primary; before it locks k2, another connection makes
        # k3 primary and retires k2 (no data key uses it yet). The batch must not write.
        original_lock = services._kek_lock_usable
        fired: list[str] = []

        def retired_just_before_the_lock(key_id: str) -> None:
            if not fired:
                fired.append(key_id)
                in_other_connection(lambda: rotate_and_retire("k3", "k2"))
            original_lock(key_id)

        monkeypatch.setattr(services, "_kek_lock_usable", retired_just_before_the_lock)
        with pytest.raises(KeyringError, match="was retired"):
            services.keys_rewrap()
        assert fired == ["k2"]
        assert {dk.pk: (dk.kek_id, wrapped_bytes(dk)) for dk in DataKey.objects.all()} == {
            pk: ("k1", wrapped) for pk, wrapped in before.items()
        }
        assert services.keys_rewrap().rewrapped == 3
        assert set(DataKey.objects.values_list("kek_id", flat=True)) == {"k3"}
        assert sorted(n.body for n in Note.objects.all()) == sorted(n.body for n in notes)


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
