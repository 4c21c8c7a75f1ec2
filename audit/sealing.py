"""Sealing the audit log: chaining events by HMAC in sequence order, with signed checkpoints.

A periodic job (``audit.tasks.seal_events``, every 10 s) runs ``events_seal``. It seals
only ids no open transaction can still precede, takes its own advisory lock (a second
sealer returns at once) and never makes a writer wait. Each checkpoint is signed with
Ed25519 (``audit.signing``) and then written to the anchor sink (``audit.anchors``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audit import chain
from audit.anchors import anchors_write
from audit.models import AuditCheckpoint, AuditEvent, AuditSeal
from audit.signing import signing_key

logger = logging.getLogger("audit.chain")


# ---------------------------------------------------------------------------------------
# Sealing and verification (45 CFR 164.312(b): the trail must show it was not altered).

_EVENT_TABLE = AuditEvent._meta.db_table
_SEAL_TABLE = AuditSeal._meta.db_table
_CHECKPOINT_TABLE = AuditCheckpoint._meta.db_table
# pg advisory lock key for the sealer only ("audit" + "seal" as two int4s); writers never take it.
_SEAL_LOCK = (0x61756474, 0x7365616C)

# The event columns in ``chain.FIELDS`` order, formatted by the server the same way at
# sealing and at verification: time as UTC ISO text, inet as bare address, jsonb as text.
_EVENT_COLUMNS = """
    e.action, e.actor_id, e.actor_kind, e.actor_label, e.actor_role, e.details::text, e.id,
    host(e.ip), to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    e.outcome, e.patient_id, e.request_id, e.target_id, e.target_type, e.user_agent
"""
_ID_COLUMN = chain.FIELDS.index("id")
_N_FIELDS = len(chain.FIELDS)

SEAL_ROWS_SQL = f"""
    SELECT {_EVENT_COLUMNS} FROM {_EVENT_TABLE} e
    WHERE e.id > %s AND e.id <= %s ORDER BY e.id LIMIT %s
"""  # noqa: S608 - table and column names are constants
VERIFY_ROWS_SQL = f"""
    SELECT {_EVENT_COLUMNS}, s.prev_event_id, s.prev_hash, s.hash, s.key_id
    FROM {_EVENT_TABLE} e LEFT JOIN {_SEAL_TABLE} s ON s.event_id = e.id
    WHERE e.id <= %s ORDER BY e.id
"""  # noqa: S608
_CHECKPOINT_SQL = f"""
    SELECT through_event_id, head_hash, count, key_id, signature,
           to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), id,
           algorithm, public_head, prev_through_event_id
    FROM {_CHECKPOINT_TABLE} ORDER BY through_event_id
"""  # noqa: S608
STREAM_CHUNK = 5000


def keyring() -> chain.Keyring:
    """Keys come from settings (the environment), never from the database.

    ``AUDIT_SEAL_RETIRED_KEYS`` (optional) keeps seals made before a rotation verifiable.
    """
    return chain.Keyring(settings.AUDIT_SEAL_KEY, settings.AUDIT_SEAL_RETIRED_KEYS)


@dataclass(frozen=True)
class SealReport:
    sealed: int
    through_event_id: int | None
    checkpoints: int
    held_back: bool = False  # an in-flight writer kept the horizon from advancing
    busy: bool = False  # another sealer holds the lock


def events_seal(
    *,
    batch_size: int = 5000,
    max_batches: int | None = None,
    wait_seconds: float = 5.0,
) -> SealReport:
    """Chain every event that can no longer gain a lower-numbered neighbour.

    Why a horizon: ids come from a sequence when the INSERT runs, but rows become
    visible when their transaction commits, so id order and commit order differ. If
    we sealed #11 while the transaction holding #10 was still open, #10 would commit
    later *inside* the sealed range and could never join the chain. So we seal only
    ids at or below a horizon that no open transaction can still fill:

    1. read the sequence's last allocated value ``H`` (non-transactional: it counts
       ids handed to transactions still in flight);
    2. list the transactions that hold ``ROW EXCLUSIVE`` on the event table. An
       INSERT takes that lock while the statement is parsed, before its ``nextval``,
       and keeps it until commit or rollback; so any transaction that got an id
       ``<= H`` and has not finished is in this list;
    3. wait (briefly, polling ``pg_locks``) until those transactions have ended.
       Later transactions do not matter: their ids are ``> H``.

    After that every id ``<= H`` is committed or gone for good (rolled-back ids leave
    gaps; the chain runs over the ids that exist). Writers take no extra lock and
    never wait: only the sealer waits, for transactions already in flight. If one
    of them stays open past ``wait_seconds`` this run seals nothing and says so; the
    next run tries again. A pg advisory lock, taken by sealers only, keeps two
    sealers from extending the chain at once.

    Each batch is one transaction: its seals plus a signed checkpoint of the new
    head. Re-running is harmless (idempotent) and an interrupted run resumes from the
    last committed seal.
    """
    keys = keyring()
    horizon = _safe_horizon(wait_seconds)
    sealed = batches = 0
    through: int | None = None
    while max_batches is None or batches < max_batches:
        with transaction.atomic():
            if not _sealer_lock():
                return SealReport(sealed, through, batches, busy=True)
            last_id, head, count = _chain_head()
            through = last_id or None
            if horizon is None or last_id >= horizon:
                break
            added, last_id = _seal_batch(keys, last_id, head, count, horizon, batch_size)
        if added == 0:
            break  # only rolled-back ids (gaps) were left below the horizon
        sealed += added
        batches += 1
        through = last_id
        if added < batch_size:
            break
    # After the batches commit: a sink that is down loses no checkpoint, and the next run
    # writes what this one could not.
    anchors_write()
    return SealReport(sealed, through, batches, held_back=horizon is None)


def _seal_batch(
    keys: chain.Keyring, last_id: int, head: str, count: int, horizon: int, batch_size: int
) -> tuple[int, int]:
    """Seal up to ``batch_size`` events after ``last_id`` and sign the new head."""
    key, key_id = keys.current.secret, keys.current.key_id
    previous = AuditCheckpoint.objects.order_by("-through_event_id").first()
    prev_through = previous.through_event_id if previous is not None else 0
    public = (
        previous.public_head if previous is not None and previous.public_head else chain.GENESIS
    )
    with connection.cursor() as cursor:
        cursor.execute(SEAL_ROWS_SQL, [last_id, horizon, batch_size])
        rows = cursor.fetchall()
        if not rows:
            return 0, last_id
        seals = []
        for row in rows:
            event_id = row[_ID_COLUMN]
            canonical = chain.canonical(row)
            digest = chain.seal_hash(key, last_id, head, canonical)
            public = chain.public_link(public, canonical)
            seals.append((event_id, last_id or None, head, digest, key_id))
            last_id, head = event_id, digest
        columns = "event_id, prev_event_id, prev_hash, hash, key_id"
        with cursor.copy(f"COPY {_SEAL_TABLE} ({columns}) FROM STDIN") as copy:
            for seal in seals:
                copy.write_row(seal)
    _checkpoint_write(
        through_event_id=last_id,
        head_hash=head,
        count=count + len(rows),
        public_head=public,
        prev_through_event_id=prev_through,
    )
    return len(rows), last_id


def _safe_horizon(wait_seconds: float) -> int | None:
    """The highest id no open transaction can still commit, or None if we gave up waiting."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_sequence_last_value(pg_get_serial_sequence(%s, 'id'))", [_EVENT_TABLE]
        )
        allocated = cursor.fetchone()[0] or 0
        writers = _writers_holding_ids(cursor, None)
        deadline = time.monotonic() + wait_seconds
        delay = 0.002
        while writers:
            if time.monotonic() >= deadline:
                logger.info("audit sealing held back by %d open transaction(s)", len(writers))
                return None
            time.sleep(delay)
            delay = min(delay * 2, 0.1)
            writers = _writers_holding_ids(cursor, writers)
    return int(allocated)


def _writers_holding_ids(cursor: Any, among: list[str] | None) -> list[str]:
    sql = (
        "SELECT coalesce(array_agg(DISTINCT virtualtransaction), '{}') FROM pg_locks "
        "WHERE locktype = 'relation' AND relation = %s::regclass AND granted "
        "AND mode = 'RowExclusiveLock' AND pid IS DISTINCT FROM pg_backend_pid()"
    )
    params: list[Any] = [_EVENT_TABLE]
    if among is not None:
        sql += " AND virtualtransaction = ANY(%s)"
        params.append(among)
    cursor.execute(sql, params)
    return list(cursor.fetchone()[0])


def _sealer_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", list(_SEAL_LOCK))
        return bool(cursor.fetchone()[0])


def _chain_head() -> tuple[int, str, int]:
    """(last sealed id, its hash, sealed count) or the genesis state."""
    last = AuditSeal.objects.order_by("-event_id").values_list("event_id", "hash").first()
    if last is None:
        return 0, chain.GENESIS, 0
    checkpoint = AuditCheckpoint.objects.order_by("-through_event_id").first()
    if checkpoint is not None and checkpoint.through_event_id == last[0]:
        return last[0], last[1], checkpoint.count
    # Every batch ends with a checkpoint, so this only runs after tampering; the
    # verifier reports that, and counting here keeps new checkpoints truthful.
    return last[0], last[1], AuditSeal.objects.count()


def _checkpoint_write(
    *,
    through_event_id: int,
    head_hash: str,
    count: int,
    public_head: str,
    prev_through_event_id: int,
) -> AuditCheckpoint:
    private_key = signing_key()
    key_id = chain.public_key_id(private_key.public_key())
    created_at = timezone.now().astimezone(UTC)
    message = chain.checkpoint_message_v2(
        through_event_id=through_event_id,
        count=count,
        head_hash=head_hash,
        public_head=public_head,
        prev_through_event_id=prev_through_event_id,
        created_at=_iso(created_at),
        key_id=key_id,
    )
    checkpoint = AuditCheckpoint.objects.create(
        through_event_id=through_event_id,
        head_hash=head_hash,
        count=count,
        created_at=created_at,
        key_id=key_id,
        algorithm=AuditCheckpoint.Algorithm.ED25519,
        public_head=public_head,
        prev_through_event_id=prev_through_event_id,
        signature=chain.ed25519_sign(private_key, message),
    )
    # The head also goes to the log, outside the database: a copy there is what shows
    # that the end of the chain was cut off together with its checkpoints.
    logger.info("audit checkpoint through=%d count=%d head=%s", through_event_id, count, head_hash)
    return checkpoint


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
