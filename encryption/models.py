from __future__ import annotations

import uuid
from typing import Any, ClassVar

from django.db import models
from django.db.models import Q
from django.utils import timezone

from encryption.fields import DataKeyField, EncryptedField, EncryptedTextField, Sealed


class KekState(models.TextChoices):
    PRIMARY = "primary", "Primary (wraps new data keys)"
    ACTIVE = "active", "Active (unwraps only)"
    RETIRED = "retired", "Retired (no data key uses it)"


class KekProvider(models.TextChoices):
    LOCAL = "local", "Local key (ENCRYPTION_KEYS)"
    AWS_KMS = "aws-kms", "AWS KMS"


class Kek(models.Model):
    """A key-encryption key known to the portal: its id, where it lives, and its state.

    The key itself is never here: local keys come from the environment, KMS keys stay in
    KMS. This table is where a rotation is recorded, so every process sees a new primary
    at its next write without a restart; the database allows at most one primary.
    """

    key_id = models.CharField(max_length=255, unique=True)
    provider = models.CharField(max_length=16, choices=KekProvider.choices)
    state = models.CharField(max_length=16, choices=KekState.choices, default=KekState.ACTIVE)
    created_at = models.DateTimeField(default=timezone.now)
    promoted_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "key-encryption key"
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(
                fields=["state"],
                condition=Q(state=KekState.PRIMARY),
                name="encryption_kek_one_primary",
            ),
            models.CheckConstraint(
                condition=Q(state__in=KekState.values), name="encryption_kek_state_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key_id} ({self.provider}, {self.state})"


class DataKey(models.Model):
    """One object's data key (DEK), stored only wrapped by a KEK, with that KEK's id.

    Destroying it (crypto-shredding) clears ``wrapped`` and ``kek`` and stamps
    ``destroyed_at``: the row stays as a tombstone so readers can say "erased" rather
    than "missing", and the KEK it used can be retired.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # The KEK's own id (``Kek.key_id``) is stored with the wrapped key, as the format says.
    kek = models.ForeignKey(
        Kek,
        to_field="key_id",
        on_delete=models.PROTECT,
        related_name="data_keys",
        null=True,
        blank=True,
    )
    wrapped = models.BinaryField(null=True)
    created_at = models.DateTimeField(default=timezone.now)
    rewrapped_at = models.DateTimeField(null=True, blank=True)
    destroyed_at = models.DateTimeField(null=True, blank=True)

    # The unwrapped key, in this process's memory only, once it has been needed.
    _dek: bytes | None = None

    class Meta:
        constraints: ClassVar[list[Any]] = [
            models.CheckConstraint(
                condition=(
                    Q(destroyed_at__isnull=True, wrapped__isnull=False, kek__isnull=False)
                    | Q(destroyed_at__isnull=False, wrapped__isnull=True, kek__isnull=True)
                ),
                name="encryption_datakey_live_or_destroyed",
            ),
        ]

    def __str__(self) -> str:
        return f"data key {self.id}"


class EncryptedModel(models.Model):
    """Base for every model with encrypted fields: a client-made UUID key and one DEK.

    The primary key is generated when the object is created in memory, so the
    associated data (model, pk, field) that binds each ciphertext to its row is known
    before the first INSERT (an auto-increment id would only exist after it). All
    encrypted fields of the object share its one data key, so destroying that key
    erases the whole object. ``from_db`` notes which row and key each ciphertext was
    read with, so saving without touching it writes it back unchanged and a changed
    identity re-encrypts it instead of storing a ciphertext that no longer verifies.

    **Renames break decryption.** The associated data holds the model's label
    (``app_label.modelname``) and each field's name, so renaming the model, its app or
    an encrypted field makes every stored value fail with ``DecryptionFailed``. Before
    such a rename, pin the old identity: ``encryption_label = "oldapp.oldmodel"`` on the
    model, ``aad_name="old_name"`` on the field (new models may set them from the start).
    Changing a pinned identity later is the same break.

    **Deleting a row shreds it**: ``services.object_deleted`` destroys the data key in
    the delete's transaction (and, for ``EncryptedFile``, the ciphertext after commit).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    data_key = DataKeyField()

    # The model's name in associated data; empty means ``_meta.label_lower``. Never change
    # it once data is stored (see above).
    encryption_label: ClassVar[str] = ""

    class Meta:
        abstract = True

    @classmethod
    def aad_label(cls) -> str:
        return cls.encryption_label or cls._meta.label_lower

    @classmethod
    def from_db(cls, db: str | None, field_names: Any, values: Any) -> Any:
        instance = super().from_db(db, field_names, values)
        loaded = instance.__dict__
        if "id" in loaded and "data_key_id" in loaded:
            stamp = (str(loaded["id"]), loaded["data_key_id"])
            for field in cls._meta.concrete_fields:
                value = loaded.get(field.attname)
                if isinstance(field, EncryptedField) and isinstance(value, Sealed):
                    value.stamp = stamp
        return instance

    @property
    def is_erased(self) -> bool:
        """True once the data key is destroyed (use ``select_related("data_key")`` in lists)."""
        return self.data_key.destroyed_at is not None


class EncryptedFile(EncryptedModel):
    """A file whose bytes are in the encrypted-files storage as a STREAM ciphertext.

    The storage name is random (never derived from the upload's name) and written once.
    The original name and content type are PHI and encrypted like any field; ``size``
    (plaintext bytes) is kept clear for Content-Length and quotas.
    """

    storage_name = models.CharField(max_length=255, unique=True, editable=False)
    original_name = EncryptedTextField(max_length=255)
    content_type = EncryptedTextField(max_length=255)
    size = models.BigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "encrypted file"

    def __str__(self) -> str:
        return f"encrypted file {self.id}"
