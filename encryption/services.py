"""Writes of the encryption app: data keys, the primary KEK, rotation and erasure.

Every KEK step (registration, rotation, re-wrap batches, retirement and refusals) and
every erasure is recorded in the audit log, with ids and counts only.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from django.core.signals import setting_changed
from django.db import IntegrityError, connection, transaction
from django.dispatch import receiver
from django.utils import timezone

from audit.models import Outcome
from audit.services import event_record
from encryption import crypto
from encryption.actions import EncryptionAction
from encryption.errors import DecryptionFailed, Erased, KeyringError
from encryption.fields import DataKeyField, EncryptedField
from encryption.keyring import keyring
from encryption.models import DataKey, EncryptedModel, Kek, KekProvider, KekState

# KEK id -> provider: fixed when the KEK is registered, so a process may remember it.
_kek_providers: dict[str, str] = {}


def _kek_provider(key_id: str) -> str:
    if key_id not in _kek_providers:
        _kek_providers[key_id] = Kek.objects.values_list("provider", flat=True).get(key_id=key_id)
    return _kek_providers[key_id]


@receiver(setting_changed)
def _forget_providers(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith("ENCRYPTION_"):
        _kek_providers.clear()
        _primary_forget()


# -- the primary KEK ---------------------------------------------------------------------


def kek_primary() -> Kek:
    """The KEK that wraps new data keys; a new installation registers its first one here."""
    kek = Kek.objects.filter(state=KekState.PRIMARY).first()
    return kek if kek is not None else _kek_bootstrap()


def _kek_bootstrap() -> Kek:
    initial = keyring().initial_primary
    if initial is None:
        raise KeyringError(
            "no encryption key configured: set ENCRYPTION_KEYS or ENCRYPTION_KMS_KEY_ID"
        )
    provider, key_id = initial
    try:
        with transaction.atomic():
            kek, _ = Kek.objects.select_for_update().get_or_create(
                key_id=key_id, defaults={"provider": provider}
            )
            if kek.state == KekState.RETIRED:
                raise KeyringError(f"the configured first key {key_id!r} is retired")
            kek.state, kek.promoted_at = KekState.PRIMARY, timezone.now()
            kek.save(update_fields=["state", "promoted_at"])
            event_record(
                action=EncryptionAction.KEY_REGISTERED,
                target=kek,
                details={"provider": provider, "key_id": key_id, "primary": True},
            )
    except IntegrityError:
        pass  # another process registered a primary at the same moment: use theirs
    return Kek.objects.get(state=KekState.PRIMARY)


# -- data keys ---------------------------------------------------------------------------

# The primary KEK's row (its id and provider: no key material, which stays in the keyring
# or in KMS), remembered for a few seconds so that a send does not read it for each of its
# keys. Never trusted blindly: the transaction that writes the keys reads the row again
# under its lock, and a row that is no longer the primary (a rotation or retirement in any
# process) or is gone makes this process read it afresh and wrap the keys again. A
# rotation or retirement here, or a change of the ENCRYPTION_ settings, forgets it at once.
PRIMARY_REMEMBERED_SECONDS = 10.0
_primary: list[tuple[float, Kek]] = []  # at most one: (when read, monotonic; the row)


def _primary_forget() -> None:
    _primary.clear()


def _primary_remembered() -> tuple[Kek, bool]:
    """The primary, and whether it was remembered (read by an earlier call) or read now."""
    now = time.monotonic()
    if _primary and now - _primary[0][0] <= PRIMARY_REMEMBERED_SECONDS:
        return _primary[0][1], True
    kek = kek_primary()
    _primary[:] = [(now, kek)]
    return kek, False


def data_key_create() -> DataKey:
    """A fresh DEK, wrapped under the primary KEK; the plaintext key stays in memory only."""
    return data_keys_create(count=1)[0]


def data_keys_create(*, count: int) -> list[DataKey]:
    """``count`` fresh DEKs in one INSERT (bulk sends, imports, bulk_create of objects).

    The primary is read (or remembered, above) and the keys wrapped outside any
    transaction (a KMS call must not hold one); the INSERT then runs in one with a lock
    on the KEK row that ``kek_retire`` waits for (``_kek_lock_usable``): either
    retirement committed first and this is refused, or retirement waits for this commit
    and counts these keys. A remembered primary that the locked row no longer shows as
    the primary is forgotten, and the keys are wrapped again under the primary read now.
    """
    kek, remembered = _primary_remembered()
    while True:
        made = _data_keys_wrapped(kek, count)
        with transaction.atomic():
            row = _kek_lock(kek.key_id)
            if row != (KekState.PRIMARY, kek.provider):
                _primary_forget()
            if not remembered or row == (KekState.PRIMARY, kek.provider):
                _kek_check_usable(kek.key_id, row)
                DataKey.objects.bulk_create(made)
                return made
        # Nothing was written (the savepoint or transaction above is empty): once more.
        kek, remembered = kek_primary(), False


def data_keys_wrap(*, count: int) -> list[DataKey]:
    """``count`` fresh DEKs wrapped under the primary, not yet saved: for a caller that
    encrypts with them before its transaction (files) and saves them in it with
    ``data_keys_save``, so that keys, files and object commit together or not at all."""
    return _data_keys_wrapped(_primary_remembered()[0], count) if count else []


def data_keys_save(keys: Sequence[DataKey]) -> None:
    """INSERT keys from ``data_keys_wrap``, in the caller's transaction, under the KEK row
    lock of ``data_keys_create``. When the locked row shows their KEK is no longer the
    primary (rotated or retired since it was remembered), the same DEKs are wrapped again
    under the primary read now, so no process writes under an old KEK after a rotation
    (with KMS that call then runs inside the transaction: once per process and rotation).
    """
    if not keys:
        return
    kek = keys[0].kek
    assert kek is not None  # wrapped by data_keys_wrap, so under a KEK
    row = _kek_lock(kek.key_id)
    if row != (KekState.PRIMARY, kek.provider):
        _primary_forget()
        primary = kek_primary()
        if (primary.key_id, primary.provider) != (kek.key_id, kek.provider):
            target = keyring().provider(primary.provider)
            for data_key in keys:
                assert data_key._dek is not None
                data_key.wrapped = target.wrap(
                    primary.key_id, data_key._dek, dek_id=str(data_key.id)
                )
                data_key.kek = primary
        kek, row = primary, _kek_lock(primary.key_id)
    _kek_check_usable(kek.key_id, row)
    DataKey.objects.bulk_create(keys)


def _data_keys_wrapped(kek: Kek, count: int) -> list[DataKey]:
    provider = keyring().provider(kek.provider)
    made = []
    for _ in range(count):
        dek = crypto.new_key()
        data_key = DataKey(kek=kek)
        data_key.wrapped = provider.wrap(kek.key_id, dek, dek_id=str(data_key.id))
        data_key._dek = dek
        made.append(data_key)
    return made


def _kek_lock_usable(key_id: str) -> None:
    """Lock KEK ``key_id`` against retirement until the caller's transaction ends, and
    raise (rolling that transaction back) unless it may still wrap keys.

    Call it in the transaction that writes data keys under the KEK, before the write.
    The foreign key does not protect this: Django makes it ``DEFERRABLE INITIALLY
    DEFERRED``, so its check (and its row lock) happens only at COMMIT, after a
    concurrent ``kek_retire`` may have counted zero keys. ``FOR KEY SHARE`` conflicts
    only with ``FOR UPDATE`` (``kek_retire``, ``keys_rotate``), not with other writers.
    If retirement committed while we waited, READ COMMITTED returns the retired row.
    PRIMARY or ACTIVE both pass (a key written just after a rotation is moved by the
    next ``keys_rewrap``); RETIRED (or gone) does not.
    """
    _kek_check_usable(key_id, _kek_lock(key_id))


def _kek_lock(key_id: str) -> tuple[str, str] | None:
    """``FOR KEY SHARE`` on KEK ``key_id`` (see ``_kek_lock_usable``): its state and
    provider as committed now, or None when there is no such KEK."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT state, provider FROM {connection.ops.quote_name(Kek._meta.db_table)} "  # noqa: S608
            "WHERE key_id = %s FOR KEY SHARE",
            [key_id],
        )
        row = cursor.fetchone()
    return (row[0], row[1]) if row is not None else None


def _kek_check_usable(key_id: str, row: tuple[str, str] | None) -> None:
    if row is None or row[0] not in (KekState.PRIMARY, KekState.ACTIVE):
        raise KeyringError(
            f"key {key_id!r} was retired while data keys were being wrapped under it; "
            "nothing was written, retry"
        )


def data_key_unwrap(data_key: DataKey) -> bytes:
    if data_key._dek is not None:
        return data_key._dek
    if data_key.destroyed_at is not None or data_key.kek_id is None or data_key.wrapped is None:
        raise Erased(data_key.pk, data_key.destroyed_at)
    key_id = data_key.kek_id
    wrapped = bytes(data_key.wrapped)
    dek = keyring().provider(_kek_provider(key_id)).unwrap(key_id, wrapped, dek_id=str(data_key.pk))
    data_key._dek = dek
    return dek


def object_dek(instance: EncryptedModel, *, data_key_id: Any = None) -> bytes:
    """The plaintext DEK of ``instance`` (created if it has none), unwrapped once per object.

    ``data_key_id`` reads a value under the key it was stored with, which differs from the
    object's current one only while an object is being copied.
    """
    if data_key_id is None:
        if instance.data_key_id is None:
            instance.data_key = data_key_create()
        data_key_id = instance.data_key_id
    field = cast(DataKeyField, instance._meta.get_field("data_key"))
    data_key = cast(DataKey | None, field.get_cached_value(instance, None))
    if data_key is None or data_key.pk != data_key_id:
        try:
            data_key = DataKey.objects.get(pk=data_key_id)
        except DataKey.DoesNotExist:
            raise DecryptionFailed(f"data key {data_key_id} does not exist") from None
        if data_key_id == instance.data_key_id:
            field.set_cached_value(instance, data_key)
    return data_key_unwrap(data_key)


# -- erasure (crypto-shredding) ----------------------------------------------------------


def dek_destroy(*, data_key_id: uuid.UUID | str) -> bool:
    """Destroy one DEK for good; False if it was already destroyed. Audited.

    The UPDATE clears the wrapped key in the live table. Until VACUUM reclaims the old
    row version, and in any backup taken before now, the wrapped key still exists: it
    becomes useless once the KEK that wrapped it is retired and deleted (README).
    """
    with transaction.atomic():
        destroyed = _dek_destroy(data_key_id)
        event_record(
            action=EncryptionAction.DATA_ERASED,
            target_type="encryption.datakey",
            target_id=str(data_key_id),
            details={"data_key": str(data_key_id), "already_erased": not destroyed},
        )
    return destroyed


def data_keys_destroy(*, data_key_ids: list[Any], at: datetime) -> int:
    """Destroy many DEKs in one UPDATE, stamped ``at``; how many were still live.

    Not audited here: the caller (the retention purge) records one event per object it
    erased, in the same transaction.
    """
    return DataKey.objects.filter(pk__in=data_key_ids, destroyed_at__isnull=True).update(
        wrapped=None, kek=None, destroyed_at=at
    )


def object_erase(*, obj: EncryptedModel, patient_id: int | None = None) -> bool:
    """Erase every encrypted field (and file content) of ``obj`` by destroying its DEK."""
    with transaction.atomic():
        destroyed = _dek_destroy(obj.data_key_id)
        event_record(
            action=EncryptionAction.DATA_ERASED,
            target=obj,
            patient_id=patient_id,
            details={"data_key": str(obj.data_key_id), "already_erased": not destroyed},
        )
    # Forget what this instance already decrypted: the next read goes to the database.
    data_key_field = cast(DataKeyField, obj._meta.get_field("data_key"))
    if data_key_field.is_cached(obj):
        data_key_field.delete_cached_value(obj)
    for field in obj._meta.concrete_fields:
        if isinstance(field, EncryptedField):
            obj.__dict__.pop(field.attname, None)
    return destroyed


def object_deleted(sender: type[EncryptedModel], instance: EncryptedModel, **kwargs: Any) -> None:
    """``post_delete`` of every ``EncryptedModel``: deleting a row shreds it too.

    Connected per concrete model in ``EncryptionConfig.ready`` (a receiver for every
    sender would turn off Django's fast deletes for all models). Runs inside the delete's
    own transaction, so the DEK is destroyed if and only if the row's deletion commits;
    retention may therefore either ``object_erase`` (keeps an "erased" row) or simply
    delete, cascades included. Audited like an erasure, with ``"deleted": True``.
    Bulk ``QuerySet.delete()`` sends the signal per object too (Django loads the rows
    because a receiver exists); raw SQL deletes bypass it, as they bypass everything.
    """
    if instance.data_key_id is None:
        return
    destroyed = _dek_destroy(instance.data_key_id)
    event_record(
        action=EncryptionAction.DATA_ERASED,
        target=instance,
        details={
            "data_key": str(instance.data_key_id),
            "already_erased": not destroyed,
            "deleted": True,
        },
    )


def _dek_destroy(data_key_id: Any) -> bool:
    return bool(
        DataKey.objects.filter(pk=data_key_id, destroyed_at__isnull=True).update(
            wrapped=None, kek=None, destroyed_at=timezone.now()
        )
    )


# -- rotation ----------------------------------------------------------------------------


def keys_rotate(*, key_id: str, provider: str | None = None) -> Kek:
    """Make ``key_id`` the primary KEK. New DEKs use it at once, in every process.

    Nothing stops: the previous primary stays active, so everything wrapped under it
    still unwraps until ``keys_rewrap`` has moved it. For a local key, every process
    must already have it in ``ENCRYPTION_KEYS`` (deploy that first). The key is proven
    with a wrap/unwrap round trip before anything depends on it. Idempotent.
    """
    ring = keyring()
    if provider is None:
        provider = KekProvider.LOCAL if ring.local.available(key_id) else None
    if provider is None:
        raise KeyringError(
            f"key {key_id!r} is not in ENCRYPTION_KEYS on this server "
            "(for an AWS KMS key, pass the provider aws-kms)"
        )
    backend = ring.provider(provider)
    if not backend.available(key_id):
        raise KeyringError(f"key {key_id!r} is not available from provider {provider}")
    probe, probe_id = crypto.new_key(), f"probe-{uuid.uuid4()}"
    wrapped_probe = backend.wrap(key_id, probe, dek_id=probe_id)
    if backend.unwrap(key_id, wrapped_probe, dek_id=probe_id) != probe:
        raise KeyringError(f"key {key_id!r} failed its wrap/unwrap self-test")
    previous = kek_primary()
    with transaction.atomic():
        kek, _ = Kek.objects.select_for_update().get_or_create(
            key_id=key_id, defaults={"provider": provider}
        )
        if kek.provider != provider:
            raise KeyringError(f"key {key_id!r} is registered with provider {kek.provider}")
        if kek.state == KekState.PRIMARY:
            return kek
        if kek.state == KekState.RETIRED:
            raise KeyringError(f"key {key_id!r} is retired; rotate to a new key instead")
        old = Kek.objects.select_for_update().filter(state=KekState.PRIMARY).first() or previous
        Kek.objects.filter(pk=old.pk).update(state=KekState.ACTIVE)
        kek.state, kek.promoted_at = KekState.PRIMARY, timezone.now()
        kek.save(update_fields=["state", "promoted_at"])
        _primary_forget()  # this process wraps under it at once (others: data_keys_create)
        event_record(
            action=EncryptionAction.KEY_ROTATED,
            target=kek,
            details={"provider": provider, "key_id": key_id, "previous_key_id": old.key_id},
        )
    return kek


@dataclass(frozen=True)
class RewrapReport:
    rewrapped: int
    remaining: int  # not under the primary at the end (e.g. a rotation happened meanwhile)
    primary_key_id: str


def keys_rewrap(
    *,
    batch_size: int = 500,
    on_progress: Callable[[int, int], None] | None = None,
) -> RewrapReport:
    """Re-wrap every live DEK that is not under the primary KEK. Content is not touched.

    One transaction per batch, each with its own audit event and its own read of the
    primary, so a crash (even mid-batch) loses at most the batch in flight and a re-run
    carries on with what is left (idempotent: keys already under the primary are not
    selected). ``SKIP LOCKED`` lets two runs share
    the work instead of waiting on each other.
    """
    pending = DataKey.objects.filter(kek__isnull=False)
    total = pending.exclude(kek=kek_primary()).count()
    done = 0
    cursor: uuid.UUID | None = None
    while True:
        with transaction.atomic():
            # Re-read per batch: a rotation during a long run takes effect at the next batch.
            primary = kek_primary()
            _kek_lock_usable(primary.key_id)  # held to the commit: see data_keys_create
            target = keyring().provider(primary.provider)
            query = pending.exclude(kek=primary).order_by("id").select_for_update(skip_locked=True)
            if cursor is not None:
                query = query.filter(id__gt=cursor)
            batch = list(query.only("id", "kek_id", "wrapped")[:batch_size])
            if not batch:
                break
            sources = set()
            now = timezone.now()
            for data_key in batch:
                assert data_key.kek_id is not None and data_key.wrapped is not None
                key_id = data_key.kek_id
                sources.add(key_id)
                source = keyring().provider(_kek_provider(key_id))
                dek = source.unwrap(key_id, bytes(data_key.wrapped), dek_id=str(data_key.pk))
                data_key.wrapped = target.wrap(primary.key_id, dek, dek_id=str(data_key.pk))
                data_key.kek = primary
                data_key.rewrapped_at = now
            DataKey.objects.bulk_update(batch, ["wrapped", "kek", "rewrapped_at"])
            event_record(
                action=EncryptionAction.KEYS_REWRAPPED,
                target=primary,
                details={"count": len(batch), "from_key_ids": sorted(sources)[:8]},
            )
            cursor = batch[-1].pk
        done += len(batch)
        if on_progress is not None:
            on_progress(done, max(total, done))
    primary = kek_primary()
    remaining = pending.exclude(kek=primary).count()
    return RewrapReport(rewrapped=done, remaining=remaining, primary_key_id=primary.key_id)


def kek_retire(*, key_id: str) -> Kek:
    """Retire a KEK: refused (and audited) while it is primary or any live DEK uses it.

    The row lock (``FOR UPDATE``) conflicts with the ``FOR KEY SHARE`` lock that every
    transaction writing data keys under this KEK holds until its commit
    (``_kek_lock_usable``), so the count below sees every such key; writers that lock
    after this commits see the retired state and give up.
    """
    with transaction.atomic():
        kek = Kek.objects.select_for_update().filter(key_id=key_id).first()
        refusal = None
        if kek is None:
            refusal = "unknown"
        elif kek.state == KekState.PRIMARY:
            refusal = "primary"
        elif kek.state != KekState.RETIRED:
            in_use = DataKey.objects.filter(kek=kek).count()
            if in_use:
                refusal = f"in_use:{in_use}"
            else:
                kek.state, kek.retired_at = KekState.RETIRED, timezone.now()
                kek.save(update_fields=["state", "retired_at"])
                _primary_forget()
                event_record(
                    action=EncryptionAction.KEY_RETIRED, target=kek, details={"key_id": key_id}
                )
    if refusal is None:
        assert kek is not None
        return kek
    event_record(
        action=EncryptionAction.KEY_RETIRED,
        outcome=Outcome.DENIED,
        target_type="encryption.kek",
        target_id=str(kek.pk) if kek else "",
        details={"key_id": key_id[:128], "reason": refusal.split(":")[0]},
    )
    if refusal == "unknown":
        raise KeyringError(f"no key {key_id!r} is registered")
    if refusal == "primary":
        raise KeyringError(f"key {key_id!r} is the primary; rotate to another key first")
    raise KeyringError(
        f"key {key_id!r} still wraps {refusal.split(':')[1]} data keys; run keys_rewrap first"
    )
