"""Verifying the audit log: every seal and checkpoint recomputed (``manage.py audit_verify``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.db import connection, transaction

from audit import chain
from audit.actions import AuditAction
from audit.anchors import (
    Anchor,
    AnchorReport,
    anchor_signature_ok,
    anchors_check,
    anchors_read,
    sink_get,
)
from audit.models import Outcome
from audit.public import checkpoint_record, public_walk_database
from audit.sealing import (
    _CHECKPOINT_SQL,
    _CHECKPOINT_TABLE,
    _EVENT_COLUMNS,
    _EVENT_TABLE,
    _ID_COLUMN,
    _N_FIELDS,
    _SEAL_TABLE,
    STREAM_CHUNK,
    VERIFY_ROWS_SQL,
    keyring,
)
from audit.services import event_record
from audit.signing import public_keys

EVENTS_THROUGH_SQL = f"""
    SELECT {_EVENT_COLUMNS} FROM {_EVENT_TABLE} e WHERE e.id <= %s ORDER BY e.id
"""  # noqa: S608 - table and column names are constants


def _checkpoint_ed25519_ok(row: tuple[Any, ...], public: dict[str, Ed25519PublicKey]) -> bool:
    record: Anchor = checkpoint_record(row)
    return anchor_signature_ok(record, public, None) is True


@dataclass(frozen=True)
class ChainReport:
    events_checked: int
    checkpoints_checked: int
    unsealed: int
    first_bad_event_id: int | None = None
    problem: str = ""
    anchors: AnchorReport | None = None
    # With only the public key: events covered by HMAC checkpoints, which it cannot check.
    unverifiable: int = 0
    # The last event whose seal was verified (0: none), noted with each recorded run.
    through_event_id: int = 0

    @property
    def ok(self) -> bool:
        return self.first_bad_event_id is None and not (self.anchors and self.anchors.problem)

    def summary(self) -> str:
        if self.first_bad_event_id is not None:
            return (
                f"audit chain broken at sequence number {self.first_bad_event_id}: {self.problem} "
                f"({self.events_checked} events verified before it, "
                f"{self.unsealed} events not yet sealed)"
            )
        if self.anchors is not None and self.anchors.problem:
            return f"audit anchors do not match the database: {self.anchors.problem}"
        text = (
            f"audit chain intact: {self.events_checked} sealed events, "
            f"{self.checkpoints_checked} checkpoints, {self.unsealed} events not yet sealed"
        )
        if self.unverifiable:
            text += (
                f"; {self.unverifiable} events are covered only by HMAC checkpoints, "
                "which need AUDIT_SEAL_KEY to verify"
            )
        if self.anchors is not None:
            text += (
                f"; {self.anchors.checked} anchors match, "
                f"{self.anchors.pending} checkpoints not yet anchored"
            )
        return text


class _Broken(Exception):
    def __init__(self, event_id: int, problem: str) -> None:
        self.event_id = event_id
        self.problem = problem


def chain_verify(
    *,
    record: bool = True,
    public_keys_only: list[Ed25519PublicKey] | None = None,
    allow_behind: bool = False,
) -> ChainReport:
    """Recompute every seal and checkpoint signature; name the first event that fails;
    then compare the anchors outside the database with the checkpoints in it.

    With ``public_keys_only`` only the public chain and the Ed25519 checkpoints are checked
    (what an auditor without the secrets can do); the seals need ``AUDIT_SEAL_KEY``.

    Reads one consistent snapshot (REPEATABLE READ) with server-side cursors, so memory
    stays flat however long the log is. The anchors are read before the snapshot, so
    each one's checkpoint is already committed. With ``record`` the run is itself an
    ``audit.verified`` event, committed even when the chain is broken.
    """
    anchors = anchors_read()
    if not public_keys_only:
        keys: chain.Keyring | None = keyring()
        public = public_keys()
    else:
        keys, public = None, {chain.public_key_id(key): key for key in public_keys_only}
    starts_transaction = not connection.in_atomic_block
    with transaction.atomic():
        if starts_transaction:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        report = _chain_walk(keys, public) if keys is not None else _public_walk(public)
        if report.first_bad_event_id is None and sink_get() is not None:
            checked = anchors_check(
                anchors, public_keys=public, keyring=keys, allow_behind=allow_behind
            )
            report = replace(report, anchors=checked)
    if record:
        with transaction.atomic():
            event_record(
                action=AuditAction.VERIFIED,
                outcome=Outcome.SUCCESS if report.ok else Outcome.ERROR,
                details=verification_details(report, public_key_only=bool(public_keys_only)),
            )
    return report


def verification_details(report: ChainReport, *, public_key_only: bool = False) -> dict[str, Any]:
    """What the ``audit.verified`` event keeps of a run: counts, up to which event the
    chain was verified (the compliance dashboard's "last successful audit_verify"), and
    what the anchors showed."""
    details: dict[str, Any] = {
        "events_checked": report.events_checked,
        "checkpoints_checked": report.checkpoints_checked,
        "unsealed": report.unsealed,
        "through_event_id": report.through_event_id,
    }
    if public_key_only:
        details["public_key_only"] = True
    if report.anchors is not None:
        details["anchors_checked"] = report.anchors.checked
        details["anchors_pending"] = report.anchors.pending
    if report.first_bad_event_id is not None:
        details["first_bad_event_id"] = report.first_bad_event_id
    elif not report.ok:
        details["anchor_mismatch"] = True
    return details


def _public_walk(public: dict[str, Ed25519PublicKey]) -> ChainReport:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT coalesce(max(through_event_id), 0) FROM {_CHECKPOINT_TABLE}")  # noqa: S608
        through = cursor.fetchone()[0]
        cursor.execute(f"SELECT count(*) FROM {_EVENT_TABLE} WHERE id > %s", [through])  # noqa: S608
        unsealed = int(cursor.fetchone()[0])
    checkpoints = _stream(_CHECKPOINT_SQL, [], "audit_verify_checkpoints")
    events = _stream(EVENTS_THROUGH_SQL, [through], "audit_verify_events")
    walked = public_walk_database(public, events, checkpoints)
    return ChainReport(
        walked.verified,
        walked.checkpoints,
        unsealed + walked.uncovered,
        walked.first_bad_event_id,
        walked.problem,
        unverifiable=walked.unverified,
        through_event_id=through if walked.first_bad_event_id is None else 0,
    )


def _chain_walk(keys: chain.Keyring, public: dict[str, Ed25519PublicKey]) -> ChainReport:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT max(event_id) FROM {_SEAL_TABLE}")  # noqa: S608
        max_sealed = cursor.fetchone()[0] or 0
        cursor.execute(
            f"SELECT count(*) FROM {_EVENT_TABLE} WHERE id > %s",  # noqa: S608
            [max_sealed],
        )
        unsealed = int(cursor.fetchone()[0])
    walk = _Walk(keys, public)
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

    def __init__(self, keys: chain.Keyring, public_keys: dict[str, Ed25519PublicKey]) -> None:
        self.keys = keys
        self.public_keys = public_keys
        self.last_id = 0
        self.head = chain.GENESIS
        self.count = 0
        self.checkpoints = 0
        # The public chain (``chain.public_link``) restarts at each checkpoint's head.
        self.public = chain.GENESIS
        self.prev_through = 0

    def run(self, max_sealed: int) -> None:
        checkpoints = _stream(_CHECKPOINT_SQL, [], "audit_verify_checkpoints")
        checkpoint = next(checkpoints, None)
        # The hot loop keeps its state in locals: it runs once per event ever written.
        keys_get, canonical, seal_hash = self.keys.get, chain.canonical, chain.seal_hash
        public_link = chain.public_link
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
                canonical_event = canonical(row)
                self.public = public_link(self.public, canonical_event)
                if seal_hash(key.secret, prev_id, prev_hash, canonical_event) != stored:
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
        through, head_hash, count, key_id, signature, created_at, _pk, algorithm = checkpoint[:8]
        if algorithm == chain.ED25519:
            if not _checkpoint_ed25519_ok(checkpoint, self.public_keys):
                raise _Broken(through, "a checkpoint signature does not match")
        else:
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
        public_head, prev_through = checkpoint[8:10]
        if algorithm == chain.ED25519 and (
            public_head != self.public or (prev_through or 0) != self.prev_through
        ):
            raise _Broken(through, "the public chain does not match its signed checkpoint")
        self.public = public_head or chain.GENESIS
        self.prev_through = through
        self.checkpoints += 1


def _stream(sql: str, params: list[Any], name: str) -> Iterator[tuple[Any, ...]]:
    """Rows from a server-side cursor, fetched in chunks (needs an open transaction)."""
    connection.ensure_connection()
    with connection.connection.cursor(name=name) as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(STREAM_CHUNK):
            yield from rows
