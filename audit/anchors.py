"""Anchors: each checkpoint head written outside the database, to an append-only sink.

A database restored from a backup older than the latest checkpoint still verifies on its
own (its chain and checkpoints are whole, just shorter). The anchors are what show it:
``audit_verify`` reads them back and fails naming the newest anchor the database is
behind. Two sinks:

* ``file``: JSON lines appended (``O_APPEND``, fsync) to ``AUDIT_ANCHOR_PATH``. Put it on
  a separate volume the database host cannot rewrite (another machine's NFS export
  with ``chattr +a``, a WORM share), or it is rolled back with the database.
* ``s3``: one object per checkpoint in a bucket with Object Lock in compliance mode,
  each retained ``AUDIT_ANCHOR_RETAIN_DAYS``: nobody, the root account included, can
  delete or overwrite it before then.

An anchor carries the checkpoint's signed fields, so it can be checked with the public
key alone. The sealer writes anchors after its batches commit; a sink that is down
loses no checkpoint: ``AuditAnchor`` rows mark what was written and the next run
retries the rest, in order (``audit_verify`` reports how many wait).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max

from audit import chain
from audit.models import AuditAnchor, AuditCheckpoint

logger = logging.getLogger("audit.chain")

FORMAT = "audit-anchor/1"
# pg advisory lock key for the anchor writer ("audit" + "anch").
_ANCHOR_LOCK = (0x61756474, 0x616E6368)
BATCH = 500


class AnchorError(Exception):
    """The sink refused or could not be reached (the message names no event content)."""


@dataclass(frozen=True)
class Anchor:
    checkpoint_id: int
    through_event_id: int
    count: int
    head_hash: str
    public_head: str
    prev_through_event_id: int | None
    created_at: str
    key_id: str
    algorithm: str
    signature: str
    # Where it was read from (a file line, an S3 key): how a failure names it.
    location: str = field(default="", compare=False)

    @classmethod
    def of(cls, checkpoint: AuditCheckpoint) -> Anchor:
        return cls(
            checkpoint_id=checkpoint.pk,
            through_event_id=checkpoint.through_event_id,
            count=checkpoint.count,
            head_hash=checkpoint.head_hash,
            public_head=checkpoint.public_head,
            prev_through_event_id=checkpoint.prev_through_event_id,
            created_at=checkpoint.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            key_id=checkpoint.key_id,
            algorithm=checkpoint.algorithm,
            signature=checkpoint.signature,
        )

    def to_json(self) -> str:
        fields = asdict(self)
        del fields["location"]
        return json.dumps({"format": FORMAT, **fields}, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes, location: str) -> Anchor:
        try:
            data = json.loads(text)
            if data.pop("format") != FORMAT:
                raise ValueError
            return cls(**data, location=location)
        except (ValueError, TypeError, KeyError, AttributeError):
            raise AnchorError(f"anchor {location} is not readable") from None

    def describe(self) -> str:
        return (
            f"anchor {self.location} (checkpoint through event #{self.through_event_id}, "
            f"made {self.created_at})"
        )


class Sink(Protocol):
    name: str

    def write(self, anchor: Anchor) -> str:
        """Store ``anchor``; return where it went."""

    def read(self) -> Iterator[Anchor]:
        """Every anchor stored, oldest first; raises AnchorError when unreadable."""


class FileSink:
    name = "file"

    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, anchor: Anchor) -> str:
        line = (anchor.to_json() + "\n").encode()
        try:
            descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            try:
                os.write(descriptor, line)  # one write with O_APPEND: whole lines, never mixed
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
        except OSError as error:
            raise AnchorError(f"anchor file {self.path}: {error.strerror}") from None
        return str(self.path)

    def read(self) -> Iterator[Anchor]:
        try:
            handle = self.path.open("rb")
        except FileNotFoundError:
            return
        except OSError as error:
            raise AnchorError(f"anchor file {self.path}: {error.strerror}") from None
        with handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    yield Anchor.from_json(line, f"{self.path}:{number}")


class S3Sink:
    name = "s3"

    def __init__(
        self,
        *,
        bucket: str,
        prefix: str,
        retain_days: int,
        region: str | None = None,
        endpoint_url: str | None = None,
    ) -> None:
        import boto3

        self.bucket, self.prefix, self.retain_days = bucket, prefix.strip("/"), retain_days
        self.client: Any = boto3.client("s3", region_name=region, endpoint_url=endpoint_url)

    def key(self, anchor: Anchor) -> str:
        # Zero-padded so the listing is in chain order.
        return f"{self.prefix}/{anchor.through_event_id:020d}-{anchor.checkpoint_id}.json"

    def write(self, anchor: Anchor) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        key = self.key(anchor)
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=anchor.to_json().encode(),
                ContentType="application/json",
                ChecksumAlgorithm="SHA256",
                ObjectLockMode="COMPLIANCE",
                ObjectLockRetainUntilDate=datetime.now(UTC) + timedelta(days=self.retain_days),
            )
        except (BotoCoreError, ClientError) as error:
            raise AnchorError(f"anchor bucket {self.bucket}: {type(error).__name__}") from None
        return f"s3://{self.bucket}/{key}"

    def read(self) -> Iterator[Anchor]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=f"{self.prefix}/"
            )
            for page in pages:
                for item in page.get("Contents", []):
                    body = self.client.get_object(Bucket=self.bucket, Key=item["Key"])["Body"]
                    yield Anchor.from_json(body.read(), f"s3://{self.bucket}/{item['Key']}")
        except (BotoCoreError, ClientError) as error:
            raise AnchorError(f"anchor bucket {self.bucket}: {type(error).__name__}") from None


def sink_get() -> Sink | None:
    """The configured sink, or None when anchoring is off (``AUDIT_ANCHOR_SINK=none``)."""
    if settings.AUDIT_ANCHOR_SINK == "file":
        return FileSink(Path(settings.AUDIT_ANCHOR_PATH))
    if settings.AUDIT_ANCHOR_SINK == "s3":
        return S3Sink(
            bucket=settings.AUDIT_ANCHOR_S3_BUCKET,
            prefix=settings.AUDIT_ANCHOR_S3_PREFIX,
            retain_days=settings.AUDIT_ANCHOR_RETAIN_DAYS,
            region=settings.AUDIT_ANCHOR_S3_REGION,
            endpoint_url=settings.AUDIT_ANCHOR_S3_ENDPOINT_URL,
        )
    return None


def anchors_pending() -> Any:
    """Checkpoints not yet written to the sink. Anchors are written in chain order, so
    these are the ones after the last anchored checkpoint (two index look-ups)."""
    last = AuditAnchor.objects.aggregate(last=Max("checkpoint_id"))["last"] or 0
    return AuditCheckpoint.objects.filter(pk__gt=last).order_by("pk")


def anchors_write(*, limit: int = BATCH) -> int:
    """Write pending checkpoints to the sink, oldest first; stop at the first failure.

    Idempotent; an advisory lock keeps two writers apart (a second returns at once). A
    failure is logged (by kind, no content) and retried on the next run; what was
    written before it is recorded.
    """
    if settings.AUDIT_ANCHOR_SINK == "none":
        return 0
    written = 0
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", list(_ANCHOR_LOCK))
            if not cursor.fetchone()[0]:
                return 0
        pending = list(anchors_pending()[:limit])
        sink = sink_get() if pending else None  # an S3 client only when there is work
        if sink is None:
            return 0
        for checkpoint in pending:
            try:
                location = sink.write(Anchor.of(checkpoint))
            except AnchorError as error:
                logger.warning(
                    "audit anchor not written for checkpoint %d, retried next run: %s",
                    checkpoint.pk,
                    error,
                )
                break
            AuditAnchor.objects.create(
                checkpoint=checkpoint, sink=sink.name, location=location[:300]
            )
            written += 1
    return written


@dataclass(frozen=True)
class AnchorReport:
    checked: int
    pending: int
    problem: str = ""


def anchor_signature_ok(anchor: Anchor, public_keys: dict[str, Any], keyring: Any) -> bool | None:
    """Whether the anchor's signature holds; None when no key here can tell (an HMAC
    anchor checked with only the public key)."""
    if anchor.algorithm == chain.ED25519:
        key = public_keys.get(anchor.key_id)
        if key is None:
            return False
        message = chain.checkpoint_message_v2(
            through_event_id=anchor.through_event_id,
            count=anchor.count,
            head_hash=anchor.head_hash,
            public_head=anchor.public_head,
            prev_through_event_id=anchor.prev_through_event_id or 0,
            created_at=anchor.created_at,
            key_id=anchor.key_id,
        )
        return chain.ed25519_verifies(key, message, anchor.signature)
    if keyring is None:
        return None
    secret = keyring.get(anchor.key_id)
    if secret is None:
        return False
    message = chain.checkpoint_message(
        through_event_id=anchor.through_event_id,
        head_hash=anchor.head_hash,
        count=anchor.count,
        created_at=anchor.created_at,
        key_id=anchor.key_id,
    )
    return chain.signature_matches(
        chain.checkpoint_signature(secret.secret, message), anchor.signature
    )


def anchors_read() -> list[Anchor] | AnchorError:
    """Every anchor in the sink (read *before* the database snapshot is taken, so each
    one's checkpoint is already committed), or the error that stopped the reading."""
    sink = sink_get()
    if sink is None:
        return []
    try:
        return list(sink.read())
    except AnchorError as error:
        return error


def anchors_check(
    anchors: list[Anchor] | AnchorError,
    *,
    public_keys: dict[str, Any],
    keyring: Any,
    allow_behind: bool = False,
) -> AnchorReport:
    """Compare the anchors with the checkpoints in the database (in the caller's snapshot).

    Every anchor must be signed, and its checkpoint must be in the database with the
    same head; an anchor beyond the database's last checkpoint means the database was
    rolled back (unless ``allow_behind``: a restore drill's copy of a backup). Anchors
    the database says were written must be in the sink.
    """
    sink = sink_get()
    if sink is None:
        return AnchorReport(0, 0)
    pending = anchors_pending().count()
    if isinstance(anchors, AnchorError):
        return AnchorReport(0, pending, f"the anchors cannot be read: {anchors}")
    rows = AuditCheckpoint.objects.values_list("through_event_id", "head_hash", "count", "pk")
    database = {through: (head, count, pk) for through, head, count, pk in rows.iterator()}
    last_through = max(database, default=0)
    seen: set[int] = set()
    for anchor in sorted(anchors, key=lambda a: a.through_event_id):
        if anchor_signature_ok(anchor, public_keys, keyring) is False:
            return AnchorReport(len(seen), pending, f"{anchor.describe()} is not validly signed")
        stored = database.get(anchor.through_event_id)
        if stored is None:
            if anchor.through_event_id > last_through and allow_behind:
                continue
            if anchor.through_event_id > last_through:
                return AnchorReport(
                    len(seen), pending, f"the database is behind {anchor.describe()}"
                )
            return AnchorReport(
                len(seen), pending, f"the checkpoint named by {anchor.describe()} is missing"
            )
        if (stored[0], stored[1]) != (anchor.head_hash, anchor.count):
            return AnchorReport(
                len(seen), pending, f"the checkpoint does not match {anchor.describe()}"
            )
        seen.add(stored[2])
    recorded = AuditAnchor.objects.filter(sink=sink.name).exclude(checkpoint_id__in=seen)
    missing = set(recorded.values_list("checkpoint_id", flat=True)[:1000])
    if missing:
        # Written after the first read (the snapshot came later)? Then a second read has it.
        try:
            missing -= {anchor.checkpoint_id for anchor in sink.read()}
        except AnchorError as error:
            return AnchorReport(len(seen), pending, f"the anchors cannot be read: {error}")
    if missing:
        return AnchorReport(
            len(seen), pending, f"the anchor of checkpoint {min(missing)} is missing from the sink"
        )
    return AnchorReport(len(seen), pending)
