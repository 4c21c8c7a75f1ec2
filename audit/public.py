"""Verification with the public key alone, and the trail export an auditor checks offline.

``manage.py audit_export`` writes a range of the trail as JSON lines, no secret in it:

* a header ``{"type": "header", "format": "audit-export/1", ...}``;
* ``{"type": "start", ...}``: the checkpoint just before the first exported event (its
  signed fields), which the range chains from; absent when the range starts at the
  first event ever written;
* ``{"type": "event", "event": {...}, "link": "..."}`` per event, its fields as
  ``audit.chain.FIELDS`` (the values the canonical form is made of) and its public link;
* ``{"type": "checkpoint", ...}`` after the last event of each batch, with its signed
  fields (the same record as an anchor's).

``manage.py audit_verify --export FILE --public-key PEM`` recomputes every public link
and checks every Ed25519 checkpoint: an edited event fails at that event (its link no
longer matches), or at its checkpoint if the links were recomputed too. Checkpoints
made before Ed25519 signing (HMAC) cannot be checked without ``AUDIT_SEAL_KEY``; the
events they cover are reported as unverified.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import IO, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.db import connection

from audit import chain
from audit.anchors import Anchor, AnchorError, anchor_signature_ok
from audit.models import AuditCheckpoint, AuditEvent
from audit.sealing import _EVENT_COLUMNS, _EVENT_TABLE, _ID_COLUMN

EXPORT_FORMAT = "audit-export/1"
_DETAILS = chain.DETAILS_INDEX

EXPORT_ROWS_SQL = f"""
    SELECT {_EVENT_COLUMNS} FROM {_EVENT_TABLE} e WHERE e.id > %s AND e.id <= %s ORDER BY e.id
"""  # noqa: S608 - table and column names are constants


class Broken(Exception):
    def __init__(self, event_id: int, problem: str) -> None:
        super().__init__(problem)
        self.event_id = event_id
        self.problem = problem


class PublicWalk:
    """Recompute the public chain from a start checkpoint; check each checkpoint met."""

    def __init__(self, public_keys: dict[str, Ed25519PublicKey], start: Anchor | None) -> None:
        self.public_keys = public_keys
        self.link, self.prev_through, self.prev_count = chain.GENESIS, 0, 0
        self.last_id = 0
        if start is not None:
            if anchor_signature_ok(start, public_keys, None) is False:
                raise Broken(
                    start.through_event_id, "the starting checkpoint is not validly signed"
                )
            self._advance(start)
        self.since = 0
        self.first_in_batch: int | None = None
        self.verified = self.unverified = self.checkpoints = 0

    def event(self, row: list[Any] | tuple[Any, ...], recorded_link: str | None = None) -> None:
        event_id = row[_ID_COLUMN]
        if event_id <= self.last_id:
            raise Broken(event_id, "an event is out of order or repeated")
        self.link = chain.public_link(self.link, chain.canonical(row))
        if recorded_link is not None and recorded_link != self.link:
            raise Broken(event_id, "the event does not match its recorded link")
        self.last_id = event_id
        self.since += 1
        if self.first_in_batch is None:
            self.first_in_batch = event_id

    def checkpoint(self, checkpoint: Anchor) -> None:
        through = checkpoint.through_event_id
        if through != self.last_id:
            raise Broken(through, "the event a checkpoint names is missing")
        if checkpoint.count - self.prev_count != self.since:
            raise Broken(through, "the number of events does not match the checkpoint")
        if checkpoint.algorithm == chain.ED25519:
            if not anchor_signature_ok(checkpoint, self.public_keys, None):
                raise Broken(through, "a checkpoint signature does not match")
            if (checkpoint.prev_through_event_id or 0) != self.prev_through:
                raise Broken(through, "a checkpoint before this one is missing")
            if checkpoint.public_head != self.link:
                first = self.first_in_batch or through
                raise Broken(
                    first, f"events #{first} to #{through} do not match their signed checkpoint"
                )
            self.verified += self.since
        else:
            self.unverified += self.since  # HMAC: only AUDIT_SEAL_KEY can check these
        self.checkpoints += 1
        self._advance(checkpoint)

    def _advance(self, checkpoint: Anchor) -> None:
        self.link = checkpoint.public_head or chain.GENESIS
        self.prev_through = self.last_id = checkpoint.through_event_id
        self.prev_count = checkpoint.count
        self.since = 0
        self.first_in_batch = None


@dataclass(frozen=True)
class PublicReport:
    verified: int  # events covered by an Ed25519 checkpoint that held
    unverified: int  # events covered only by HMAC checkpoints
    checkpoints: int
    uncovered: int  # events after the last checkpoint
    first_bad_event_id: int | None = None
    problem: str = ""


def _report(walk: PublicWalk | None, broken: Broken | None = None) -> PublicReport:
    if walk is None:
        assert broken is not None
        return PublicReport(0, 0, 0, 0, broken.event_id, broken.problem)
    bad = (broken.event_id, broken.problem) if broken else (None, "")
    return PublicReport(walk.verified, walk.unverified, walk.checkpoints, walk.since, *bad)


def checkpoint_record(row: tuple[Any, ...]) -> Anchor:
    """A checkpoint row of ``sealing._CHECKPOINT_SQL`` as the signed record."""
    through, head, count, key_id, signature, created_at, pk, algorithm, public, prev = row
    return Anchor(
        checkpoint_id=pk,
        through_event_id=through,
        count=count,
        head_hash=head,
        public_head=public,
        prev_through_event_id=prev,
        created_at=created_at,
        key_id=key_id,
        algorithm=algorithm,
        signature=signature,
    )


def public_walk_database(
    public_keys: dict[str, Ed25519PublicKey],
    events: Iterable[tuple[Any, ...]],
    checkpoints: Iterator[tuple[Any, ...]],
) -> PublicReport:
    """The database's whole trail, checked as an auditor would with the public key."""
    walk = PublicWalk(public_keys, None)
    checkpoint = next(checkpoints, None)
    try:
        for row in events:
            while checkpoint is not None and checkpoint[0] < row[_ID_COLUMN]:
                walk.checkpoint(checkpoint_record(checkpoint))
                checkpoint = next(checkpoints, None)
            walk.event(row)
            if checkpoint is not None and checkpoint[0] == row[_ID_COLUMN]:
                walk.checkpoint(checkpoint_record(checkpoint))
                checkpoint = next(checkpoints, None)
        while checkpoint is not None:
            walk.checkpoint(checkpoint_record(checkpoint))
            checkpoint = next(checkpoints, None)
    except Broken as broken:
        return _report(walk, broken)
    return _report(walk)


# --- export -----------------------------------------------------------------------------


def _record(checkpoint: AuditCheckpoint, kind: str) -> str:
    fields = asdict(Anchor.of(checkpoint))
    del fields["location"]
    return json.dumps({"type": kind, **fields}, sort_keys=True)


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def export_range(*, since: date | None, until: date | None) -> tuple[int, int] | None:
    """(after, through): the checkpoint boundaries that cover the events of those days
    (UTC), or None when nothing sealed falls in them."""
    events = AuditEvent.objects.all()
    if since is not None:
        events = events.filter(occurred_at__gte=_day_start(since))
    if until is not None:
        events = events.filter(occurred_at__lt=_day_start(until + timedelta(days=1)))
    first = events.order_by("id").values_list("id", flat=True).first()
    last = events.order_by("-id").values_list("id", flat=True).first()
    if first is None or last is None:
        return None
    checkpoints = AuditCheckpoint.objects.order_by("through_event_id")
    start = checkpoints.filter(through_event_id__lt=first).last()
    end = checkpoints.filter(through_event_id__gte=last).first() or checkpoints.last()
    after = start.through_event_id if start is not None else 0
    if end is None or end.through_event_id <= after:
        return None
    return after, end.through_event_id


def trail_export(out: IO[str], *, after: int, through: int) -> int:
    """Write events ``after < id <= through`` with their checkpoints; returns the count.

    Reads one snapshot (the caller runs it in a REPEATABLE READ transaction).
    """
    start = AuditCheckpoint.objects.filter(through_event_id=after).first()
    header = {
        "type": "header",
        "format": EXPORT_FORMAT,
        "after_event_id": after,
        "through_event_id": through,
        "exported_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    out.write(json.dumps(header) + "\n")
    if start is not None:
        out.write(_record(start, "start") + "\n")
    link = start.public_head if start is not None and start.public_head else chain.GENESIS
    checkpoints = iter(
        AuditCheckpoint.objects.filter(through_event_id__gt=after, through_event_id__lte=through)
        .order_by("through_event_id")
        .iterator()
    )
    checkpoint = next(checkpoints, None)
    count = 0
    connection.ensure_connection()
    with connection.connection.cursor(name="audit_export_events") as cursor:
        cursor.execute(EXPORT_ROWS_SQL, [after, through])
        while rows := cursor.fetchmany(5000):
            for row in rows:
                link = chain.public_link(link, chain.canonical(row))
                event = dict(zip(chain.FIELDS, row, strict=False))
                event["details"] = json.loads(row[_DETAILS])
                out.write(json.dumps({"type": "event", "event": event, "link": link}) + "\n")
                count += 1
                while checkpoint is not None and checkpoint.through_event_id <= row[_ID_COLUMN]:
                    out.write(_record(checkpoint, "checkpoint") + "\n")
                    link = checkpoint.public_head or chain.GENESIS
                    checkpoint = next(checkpoints, None)
    while checkpoint is not None:
        out.write(_record(checkpoint, "checkpoint") + "\n")
        checkpoint = next(checkpoints, None)
    return count


def export_verify(lines: Iterable[str], public_keys: dict[str, Ed25519PublicKey]) -> PublicReport:
    """Check an export file with the public key alone; no database, no secret."""
    walk: PublicWalk | None = None
    try:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                kind = record.pop("type")
            except (ValueError, KeyError, AttributeError):
                raise Broken(0, f"line {number} of the export is not readable") from None
            if kind == "header":
                if record.get("format") != EXPORT_FORMAT:
                    raise Broken(0, "the file is not an audit export")
                continue
            if kind == "start":
                if walk is not None:
                    raise Broken(0, f"line {number}: the starting checkpoint is out of place")
                walk = PublicWalk(public_keys, _anchor(record, number))
                continue
            if walk is None:
                walk = PublicWalk(public_keys, None)
            if kind == "event":
                walk.event(_event_row(record, number), record.get("link"))
            elif kind == "checkpoint":
                walk.checkpoint(_anchor(record, number))
            else:
                raise Broken(0, f"line {number} of the export is not readable")
    except Broken as broken:
        return _report(walk, broken)
    if walk is None:
        return PublicReport(0, 0, 0, 0, 0, "the export holds no events")
    return _report(walk)


def _anchor(record: dict[str, Any], number: int) -> Anchor:
    try:
        return Anchor.from_json(
            json.dumps({"format": "audit-anchor/1", **record}), f"line {number}"
        )
    except AnchorError as error:
        raise Broken(0, str(error)) from None


def _event_row(record: dict[str, Any], number: int) -> list[Any]:
    try:
        event = record["event"]
        row = [event[name] for name in chain.FIELDS]
        row[_DETAILS] = json.dumps(row[_DETAILS])
        int(row[_ID_COLUMN])
    except (KeyError, TypeError, ValueError):
        raise Broken(0, f"line {number} of the export is not an event") from None
    return row
