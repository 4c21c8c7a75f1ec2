"""Audit test helpers: recording events, tampering as a superuser, a second connection.

The personas and signed-in clients come from ``tests/conftest.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.db import connection, transaction

from audit.context import system_actor
from audit.models import AuditEvent
from audit.services import event_record


def record(n: int = 1, **fields: Any) -> list[AuditEvent]:
    """``n`` committed-in-this-test events from a system actor."""
    fields.setdefault("action", "audit.searched")
    with system_actor("test"):
        return [event_record(**fields) for _ in range(n)]


INSERT_MINIMAL_EVENT = (
    "INSERT INTO audit_auditevent (actor_kind, actor_role, actor_label, action, target_type, "
    "target_id, outcome, user_agent, request_id, details) "
    "VALUES ('system', 'system', 'raw', 'accounts.sign_in', '', '', 'success', '', '', '{}')"
)
INSERT_MINIMAL_EVENT_WITH_ID = (
    "INSERT INTO audit_auditevent (id, actor_kind, actor_role, actor_label, action, target_type, "
    "target_id, outcome, user_agent, request_id, details) "
    "VALUES (%s, 'system', 'system', 'raw', 'accounts.sign_in', '', '', 'success', '', '', '{}')"
)


def rolled_back_id() -> int:
    """Burn one id the way a failed request does: its event is rolled back."""
    with system_actor("test"), pytest.raises(RuntimeError), transaction.atomic():
        event = event_record(action="audit.searched")
        burnt = event.pk
        raise RuntimeError
    return burnt


@contextmanager
def triggers_disabled() -> Iterator[Any]:
    """Tamper as a superuser would: replica mode skips the append-only triggers (and FKs)."""
    with connection.cursor() as cursor:
        # Settle the seals' deferred FK checks first: they belong to honest writes.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET LOCAL session_replication_role = replica")
        try:
            yield cursor
        finally:
            cursor.execute("SET LOCAL session_replication_role = origin")


@pytest.fixture
def other_connection(db: Any) -> Iterator[psycopg.Connection[Any]]:
    """A second session on the test database, like another worker process."""
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    other = psycopg.connect(**params)
    try:
        yield other
    finally:
        other.rollback()
        other.close()


def seal_as_before_ed25519() -> None:
    """Seal pending events the way the sealer did before Ed25519: HMAC checkpoints."""
    from django.utils import timezone

    from audit import chain, sealing
    from audit.models import AuditCheckpoint

    def hmac_checkpoint(
        *, through_event_id: int, head_hash: str, count: int, **_: Any
    ) -> AuditCheckpoint:
        keys = sealing.keyring()
        created_at = timezone.now()
        message = chain.checkpoint_message(
            through_event_id=through_event_id,
            head_hash=head_hash,
            count=count,
            created_at=sealing._iso(created_at),
            key_id=keys.current.key_id,
        )
        return AuditCheckpoint.objects.create(
            through_event_id=through_event_id,
            head_hash=head_hash,
            count=count,
            created_at=created_at,
            key_id=keys.current.key_id,
            signature=chain.checkpoint_signature(keys.current.secret, message),
        )

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sealing, "_checkpoint_write", hmac_checkpoint)
        sealing.events_seal()


@pytest.fixture
def public_key_file(tmp_path: Path) -> Path:
    """The checkpoint key's public half, as an operator hands it to an auditor."""
    from audit.signing import public_key_pem, signing_key

    path = tmp_path / "audit-public.pem"
    path.write_text(public_key_pem(signing_key().public_key()))
    return path


@pytest.fixture
def without_secrets(settings: Any, tmp_path: Path) -> None:
    """What an auditor has: neither the seal key nor the signing key (used after sealing)."""
    settings.AUDIT_SEAL_KEY = "not the seal key, and long enough to look like one"
    settings.AUDIT_SIGNING_KEY_FILE = str(tmp_path / "no-such-key.pem")


@pytest.fixture
def anchor_file(settings: Any, tmp_path: Path) -> Path:
    """Anchors appended to a file (a separate volume in production)."""
    path = tmp_path / "anchors" / "audit-anchors.jsonl"
    path.parent.mkdir()
    settings.AUDIT_ANCHOR_SINK = "file"
    settings.AUDIT_ANCHOR_PATH = str(path)
    return path
