"""The one way into the audit log.

``event_record`` is called by every app inside the transaction of the change it
records, so a rolled-back change leaves no event and a committed change always has
one. It writes one row and takes no lock beyond that insert: chaining happens later,
in the sealing job.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone

from audit import chain
from audit import context as audit_context
from audit.actions import AuditAction
from audit.models import ActorKind, AuditCheckpoint, AuditEvent, AuditSeal, Outcome

logger = logging.getLogger("audit.chain")

_DETAIL_SCALARS = (str, int, float, bool, type(None))


class AuditError(Exception):
    """A caller broke the audit contract (for example, free text in details)."""


def event_record(
    *,
    action: str,
    outcome: str = Outcome.SUCCESS,
    target: models.Model | None = None,
    target_type: str = "",
    target_id: str | int = "",
    patient_id: int | None = None,
    actor: Any = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event. ``details`` holds ids and codes only: never health information."""
    ctx = audit_context.current()
    if target is not None:
        target_type = target_type or target._meta.label_lower
        target_id = target_id or str(target.pk)
    clean_details = _checked_details(details or {})
    kind, actor_id, role, label = _actor(actor if actor is not None else ctx.user, ctx)
    return AuditEvent.objects.create(
        actor_kind=kind,
        actor_id=actor_id,
        actor_role=role,
        actor_label=label[:200],
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        patient_id=patient_id,
        outcome=outcome,
        ip=ctx.ip,
        user_agent=ctx.user_agent,
        request_id=ctx.request_id,
        details=clean_details,
    )


@dataclass(frozen=True)
class EventSpec:
    """One event of a batch for ``events_record``; the batch shares action, actor and context."""

    target: models.Model | None = None
    target_type: str = ""
    target_id: str | int = ""
    patient_id: int | None = None
    details: dict[str, Any] | None = None
    outcome: str = Outcome.SUCCESS


def events_record(*, action: str, events: Sequence[EventSpec], actor: Any = None) -> int:
    """Append many events of one action in one INSERT (bulk sends, batched deliveries).

    The same rules as ``event_record``: details are checked, the actor and request come
    from the context; sealing treats them like any other events.
    """
    ctx = audit_context.current()
    kind, actor_id, role, label = _actor(actor if actor is not None else ctx.user, ctx)
    rows = []
    for spec in events:
        target_type, target_id = spec.target_type, spec.target_id
        if spec.target is not None:
            target_type = target_type or spec.target._meta.label_lower
            target_id = target_id or str(spec.target.pk)
        rows.append(
            AuditEvent(
                actor_kind=kind,
                actor_id=actor_id,
                actor_role=role,
                actor_label=label[:200],
                action=action,
                target_type=target_type,
                target_id=str(target_id),
                patient_id=spec.patient_id,
                outcome=spec.outcome,
                ip=ctx.ip,
                user_agent=ctx.user_agent,
                request_id=ctx.request_id,
                details=_checked_details(spec.details or {}),
            )
        )
    AuditEvent.objects.bulk_create(rows)
    return len(rows)


def _actor(user: Any, ctx: audit_context.AuditContext) -> tuple[str, int | None, str, str]:
    if user is None and ctx.request is not None:
        user = getattr(ctx.request, "user", None)
    if user is not None and getattr(user, "is_authenticated", False):
        return ActorKind.USER, user.pk, getattr(user, "role", ""), user.audit_label()
    if ctx.request is not None:
        return ActorKind.ANONYMOUS, None, "", "anonymous"
    return ActorKind.SYSTEM, None, "system", ctx.system_label


def _checked_details(details: dict[str, Any]) -> dict[str, Any]:
    """Shallow, typed, bounded: ids and codes fit; a paragraph of text does not."""
    for key, value in details.items():
        values = value if isinstance(value, list | tuple) else [value]
        for item in values:
            if not isinstance(item, _DETAIL_SCALARS):
                raise AuditError(f"audit detail {key!r} must be a scalar or a list of scalars")
            if isinstance(item, str) and len(item) > 128:
                raise AuditError(f"audit detail {key!r} is too long to be an id or a code")
    return dict(details)


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
           to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), id
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
    return SealReport(sealed, through, batches, held_back=horizon is None)


def _seal_batch(
    keys: chain.Keyring, last_id: int, head: str, count: int, horizon: int, batch_size: int
) -> tuple[int, int]:
    """Seal up to ``batch_size`` events after ``last_id`` and sign the new head."""
    key, key_id = keys.current.secret, keys.current.key_id
    with connection.cursor() as cursor:
        cursor.execute(SEAL_ROWS_SQL, [last_id, horizon, batch_size])
        rows = cursor.fetchall()
        if not rows:
            return 0, last_id
        seals = []
        for row in rows:
            event_id = row[_ID_COLUMN]
            digest = chain.seal_hash(key, last_id, head, chain.canonical(row))
            seals.append((event_id, last_id or None, head, digest, key_id))
            last_id, head = event_id, digest
        columns = "event_id, prev_event_id, prev_hash, hash, key_id"
        with cursor.copy(f"COPY {_SEAL_TABLE} ({columns}) FROM STDIN") as copy:
            for seal in seals:
                copy.write_row(seal)
    _checkpoint_write(keys, through_event_id=last_id, head_hash=head, count=count + len(rows))
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
    keys: chain.Keyring, *, through_event_id: int, head_hash: str, count: int
) -> AuditCheckpoint:
    created_at = timezone.now().astimezone(UTC)
    message = chain.checkpoint_message(
        through_event_id=through_event_id,
        head_hash=head_hash,
        count=count,
        created_at=_iso(created_at),
        key_id=keys.current.key_id,
    )
    checkpoint = AuditCheckpoint.objects.create(
        through_event_id=through_event_id,
        head_hash=head_hash,
        count=count,
        created_at=created_at,
        key_id=keys.current.key_id,
        signature=chain.checkpoint_signature(keys.current.secret, message),
    )
    # The head also goes to the log, outside the database: a copy there is what shows
    # that the end of the chain was cut off together with its checkpoints.
    logger.info("audit checkpoint through=%d count=%d head=%s", through_event_id, count, head_hash)
    return checkpoint


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class ChainReport:
    events_checked: int
    checkpoints_checked: int
    unsealed: int
    first_bad_event_id: int | None = None
    problem: str = ""

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
        details: dict[str, Any] = {
            "events_checked": report.events_checked,
            "checkpoints_checked": report.checkpoints_checked,
            "unsealed": report.unsealed,
        }
        if not report.ok:
            details["first_bad_event_id"] = report.first_bad_event_id
        with transaction.atomic():
            event_record(
                action=AuditAction.VERIFIED,
                outcome=Outcome.SUCCESS if report.ok else Outcome.ERROR,
                details=details,
            )
    return report


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
        return ChainReport(walk.count, walk.checkpoints, unsealed, broken.event_id, broken.problem)
    return ChainReport(walk.count, walk.checkpoints, unsealed)


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
