"""Verifying the audit log: every seal and checkpoint recomputed (``manage.py audit_verify``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction

from audit import chain
from audit.actions import AuditAction
from audit.models import Outcome
from audit.sealing import (
    _CHECKPOINT_SQL,
    _EVENT_TABLE,
    _ID_COLUMN,
    _N_FIELDS,
    _SEAL_TABLE,
    STREAM_CHUNK,
    VERIFY_ROWS_SQL,
    keyring,
)
from audit.services import event_record


@dataclass(frozen=True)
class ChainReport:
    events_checked: int
    checkpoints_checked: int
    unsealed: int
    first_bad_event_id: int | None = None
    problem: str = ""
    # The last event whose seal was verified (0: none), noted with each recorded run.
    through_event_id: int = 0

    @property
    def ok(self) -> bool:
        return self.first_bad_event_id is None

    def summary(self) -> str:
        if self.ok:
            return (
                f"audit chain intact: {self.events_checked} sealed events, "
                f"{self.checkpoints_checked} checkpoints, {self.unsealed} events not yet sealed"
            )
        return (
            f"audit chain broken at sequence number {self.first_bad_event_id}: {self.problem} "
            f"({self.events_checked} events verified before it, "
            f"{self.unsealed} events not yet sealed)"
        )


class _Broken(Exception):
    def __init__(self, event_id: int, problem: str) -> None:
        self.event_id = event_id
        self.problem = problem


def chain_verify(*, record: bool = True) -> ChainReport:
    """Recompute every seal and checkpoint signature; name the first event that fails.

    Reads one consistent snapshot (REPEATABLE READ) with server-side cursors, so memory
    stays flat however long the log is. With ``record`` the run is itself an
    ``audit.verified`` event, committed even when the chain is broken.
    """
    keys = keyring()
    starts_transaction = not connection.in_atomic_block
    with transaction.atomic():
        if starts_transaction:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        report = _chain_walk(keys)
    if record:
        with transaction.atomic():
            event_record(
                action=AuditAction.VERIFIED,
                outcome=Outcome.SUCCESS if report.ok else Outcome.ERROR,
                details=verification_details(report),
            )
    return report


def verification_details(report: ChainReport) -> dict[str, Any]:
    """What the ``audit.verified`` event keeps of a run: counts, and up to which event the
    chain was verified (the compliance dashboard's "last successful audit_verify")."""
    details: dict[str, Any] = {
        "events_checked": report.events_checked,
        "checkpoints_checked": report.checkpoints_checked,
        "unsealed": report.unsealed,
        "through_event_id": report.through_event_id,
    }
    if not report.ok:
        details["first_bad_event_id"] = report.first_bad_event_id
    return details


def _chain_walk(keys: chain.Keyring) -> ChainReport:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT max(event_id) FROM {_SEAL_TABLE}")  # noqa: S608
        max_sealed = cursor.fetchone()[0] or 0
        cursor.execute(
            f"SELECT count(*) FROM {_EVENT_TABLE} WHERE id > %s",  # noqa: S608
            [max_sealed],
        )
        unsealed = int(cursor.fetchone()[0])
    walk = _Walk(keys)
    try:
        walk.run(max_sealed)
        if walk.last_id < max_sealed:
            # Seals left beyond the last event seen: their events were deleted.
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT min(event_id) FROM {_SEAL_TABLE} WHERE event_id > %s",  # noqa: S608
                    [walk.last_id],
                )
                raise _Broken(cursor.fetchone()[0], "the sealed event is missing")
    except _Broken as broken:
        return ChainReport(
            walk.count,
            walk.checkpoints,
            unsealed,
            broken.event_id,
            broken.problem,
            through_event_id=walk.last_id,
        )
    return ChainReport(walk.count, walk.checkpoints, unsealed, through_event_id=walk.last_id)


class _Walk:
    """The verifier's running state: last verified id, head hash, events counted."""

    def __init__(self, keys: chain.Keyring) -> None:
        self.keys = keys
        self.last_id = 0
        self.head = chain.GENESIS
        self.count = 0
        self.checkpoints = 0

    def run(self, max_sealed: int) -> None:
        checkpoints = _stream(_CHECKPOINT_SQL, [], "audit_verify_checkpoints")
        checkpoint = next(checkpoints, None)
        # The hot loop keeps its state in locals: it runs once per event ever written.
        keys_get, canonical, seal_hash = self.keys.get, chain.canonical, chain.seal_hash
        n_fields, id_column = _N_FIELDS, _ID_COLUMN
        last_id, head, count = 0, chain.GENESIS, 0
        try:
            for row in _stream(VERIFY_ROWS_SQL, [max_sealed], "audit_verify_events"):
                event_id = row[id_column]
                while checkpoint is not None and checkpoint[0] < event_id:
                    self.last_id, self.head, self.count = last_id, head, count
                    self._checkpoint_check(checkpoint)
                    checkpoint = next(checkpoints, None)
                prev_id, prev_hash, stored, key_id = row[n_fields:]
                if stored is None:
                    raise _Broken(event_id, "an event inside the sealed range has no seal")
                key = keys_get(key_id)
                if key is None:
                    raise _Broken(event_id, "the seal names an unknown key")
                prev_id = prev_id or 0
                if seal_hash(key.secret, prev_id, prev_hash, canonical(row)) != stored:
                    raise _Broken(event_id, "the event does not match its seal")
                if prev_id != last_id or prev_hash != head:
                    if prev_id > last_id:
                        raise _Broken(prev_id, "the sealed event and its seal are missing")
                    raise _Broken(event_id, "the seal does not link to the previous event")
                last_id, head, count = event_id, stored, count + 1
                if checkpoint is not None and checkpoint[0] == event_id:
                    self.last_id, self.head, self.count = last_id, head, count
                    self._checkpoint_check(checkpoint)
                    checkpoint = next(checkpoints, None)
        finally:
            self.last_id, self.head, self.count = last_id, head, count
        while checkpoint is not None:
            self._checkpoint_check(checkpoint)
            checkpoint = next(checkpoints, None)

    def _checkpoint_check(self, checkpoint: tuple[Any, ...]) -> None:
        through, head_hash, count, key_id, signature, created_at, _pk = checkpoint
        key = self.keys.get(key_id)
        if key is None:
            raise _Broken(through, "a checkpoint is signed with an unknown key")
        message = chain.checkpoint_message(
            through_event_id=through,
            head_hash=head_hash,
            count=count,
            created_at=created_at,
            key_id=key_id,
        )
        expected = chain.checkpoint_signature(key.secret, message)
        if not chain.signature_matches(expected, signature):
            raise _Broken(through, "a checkpoint signature does not match")
        if through != self.last_id:
            raise _Broken(through, "the event a checkpoint names is missing")
        if head_hash != self.head or count != self.count:
            raise _Broken(through, "the chain does not match its signed checkpoint")
        self.checkpoints += 1


def _stream(sql: str, params: list[Any], name: str) -> Iterator[tuple[Any, ...]]:
    """Rows from a server-side cursor, fetched in chunks (needs an open transaction)."""
    connection.ensure_connection()
    with connection.connection.cursor(name=name) as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(STREAM_CHUNK):
            yield from rows
