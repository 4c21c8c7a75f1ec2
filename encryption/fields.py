"""Encrypted model fields: plaintext in Python, AES-256-GCM ciphertext in the column.

Use them on a subclass of ``encryption.models.EncryptedModel``::

    class Message(EncryptedModel):
        subject = EncryptedTextField(max_length=200)
        body = EncryptedTextField()
        form_data = EncryptedJSONField(null=True)

* **Lazy**: loading a row keeps the ciphertext (a ``Sealed``); it is decrypted the
  first time the attribute is read, so a list page that never reads ``body`` never
  decrypts it (or use ``.only()``/``.defer()`` to not even load it).
* **Bound**: associated data is (model label, pk, field name); a ciphertext moved to
  another row or field fails with ``DecryptionFailed``. So does every value after a
  rename of the model, its app or the field: pin the old names first, with
  ``EncryptedModel.encryption_label`` and the field's ``aad_name`` (see
  ``EncryptedModel``).
* **Erased**: after ``object_erase`` reading raises ``Erased``.
* **Saved only through the object**: ``QuerySet.update(body=...)``, lookups on the
  value and serialisation (``dumpdata``) are refused: the first would store plaintext
  unbound to its row, the others would need plaintext in SQL or fixtures.
  ``isnull`` works; NULL is stored as NULL, so *whether* a value is set is not secret,
  nor is its approximate length.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.core import checks, validators
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models.query_utils import DeferredAttribute

from encryption import crypto
from encryption.errors import EncryptionError

if TYPE_CHECKING:
    from encryption.models import EncryptedModel


class Sealed:
    """A ciphertext as stored, with the (pk, data key id) it was read under once known."""

    __slots__ = ("blob", "plain", "stamp")

    def __init__(self, blob: bytes, stamp: tuple[str, Any] | None = None) -> None:
        self.blob = blob
        self.stamp = stamp
        self.plain: Any = _NOTHING

    def __repr__(self) -> str:
        return f"<Sealed {len(self.blob)} bytes>"


_NOTHING = object()


class _EncryptedAttribute(DeferredAttribute):
    """Decrypts on first read; deferred loading works as for any field.

    A data descriptor (it has ``__set__``), so reads reach ``__get__`` even though the
    value lives in the instance ``__dict__``.
    """

    field: EncryptedField

    def __set__(self, instance: Any, value: Any) -> None:
        instance.__dict__[self.field.attname] = value

    def __get__(self, instance: Any, cls: Any = None) -> Any:
        if instance is None:
            return self
        value = super().__get__(instance, cls)
        if not isinstance(value, Sealed):
            return value
        plain = self.field.sealed_open(instance, value)
        if self.field.mutable_values:
            # A dict or list may be changed in place; keep it so save() encrypts the change.
            instance.__dict__[self.field.attname] = plain
        return plain


class EncryptedField(models.Field):
    """Base of the encrypted fields: a ``bytea`` column holding the field format v1."""

    descriptor_class = _EncryptedAttribute
    mutable_values = False

    def __init__(self, *args: Any, aad_name: str | None = None, **kwargs: Any) -> None:
        """``aad_name``: the name bound into associated data instead of the field's own
        (set it to the old name before renaming a field that holds data)."""
        self.aad_name = aad_name
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        if self.aad_name is not None:
            kwargs["aad_name"] = self.aad_name
        return name, path, args, kwargs

    def get_internal_type(self) -> str:
        return "BinaryField"

    # -- bytes <-> Python value, per subclass ---------------------------------------------

    def to_bytes(self, value: Any) -> bytes:
        raise NotImplementedError

    def from_bytes(self, raw: bytes) -> Any:
        raise NotImplementedError

    # -- crypto ---------------------------------------------------------------------------

    def _owner(self, pk: str) -> tuple[str, str, str]:
        model = cast("type[EncryptedModel]", self.model)
        return (model.aad_label(), pk, self.aad_name or self.name)

    def sealed_open(self, instance: EncryptedModel, sealed: Sealed) -> Any:
        from encryption import services

        if sealed.plain is not _NOTHING:
            return sealed.plain
        if sealed.stamp is None:
            sealed.stamp = (str(instance.pk), instance.data_key_id)
        pk, data_key_id = sealed.stamp
        dek = services.object_dek(instance, data_key_id=data_key_id)
        value = self.from_bytes(crypto.open_sealed(dek, sealed.blob, self._owner(pk)))
        if not self.mutable_values:
            sealed.plain = value
        return value

    def pre_save(self, model_instance: Any, add: bool) -> Any:
        from encryption import services

        instance: EncryptedModel = model_instance
        value = instance.__dict__.get(self.attname)
        if value is None:
            return None
        if instance.pk is None:
            raise EncryptionError("an object with encrypted fields needs its pk before saving")
        if isinstance(value, Sealed):
            if value.stamp is None or value.stamp == (str(instance.pk), instance.data_key_id):
                return value  # unchanged: write back the same ciphertext
            value = self.sealed_open(instance, value)  # identity changed: re-encrypt below
        dek = services.object_dek(instance)
        blob = crypto.seal(dek, self.to_bytes(value), self._owner(str(instance.pk)))
        return Sealed(blob, (str(instance.pk), instance.data_key_id))

    # -- database conversions -------------------------------------------------------------

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Sealed | None:
        return None if value is None else Sealed(bytes(value))

    def get_prep_value(self, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, Sealed):
            return value.blob
        raise EncryptionError(
            f"{self.model._meta.label}.{self.name} is encrypted: set it on the object and "
            "save() it; update() and lookups on its value are not possible"
        )

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        return self.get_prep_value(value)

    def value_to_string(self, obj: Any) -> str:
        raise EncryptionError(f"{self.model._meta.label}.{self.name} is encrypted: not serialised")

    def check(self, **kwargs: Any) -> list[checks.CheckMessage]:
        from encryption.models import EncryptedModel

        errors = super().check(**kwargs)
        if not issubclass(self.model, EncryptedModel):
            errors.append(
                checks.Error(
                    f"{self.model._meta.label}.{self.name} is encrypted but its model is not "
                    "an EncryptedModel",
                    hint="Subclass encryption.models.EncryptedModel: it gives the object the "
                    "UUID pk and the data key that encryption binds to.",
                    obj=self,
                    id="encryption.E001",
                )
            )
        return errors


class EncryptedTextField(EncryptedField):
    """Text (subjects, bodies, notes). ``max_length`` limits the plaintext in forms."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.max_length is not None:
            self.validators.append(validators.MaxLengthValidator(self.max_length))

    def to_bytes(self, value: Any) -> bytes:
        if not isinstance(value, str):
            raise EncryptionError(f"{self.name} holds text, not {type(value).__name__}")
        return value.encode("utf-8")

    def from_bytes(self, raw: bytes) -> str:
        return raw.decode("utf-8")

    def to_python(self, value: Any) -> Any:
        return value if value is None or isinstance(value, str | Sealed) else str(value)

    def formfield(
        self,
        form_class: type[forms.Field] | None = None,
        choices_form_class: type[forms.ChoiceField] | None = None,
        **kwargs: Any,
    ) -> forms.Field | None:
        defaults: dict[str, Any] = {"max_length": self.max_length}
        if self.max_length is None:
            defaults["widget"] = forms.Textarea
        return super().formfield(
            form_class=form_class or forms.CharField,
            choices_form_class=choices_form_class,
            **{**defaults, **kwargs},
        )


class EncryptedJSONField(EncryptedField):
    """JSON-serialisable data (form answers, structured notes), encrypted as one value."""

    empty_strings_allowed = False
    mutable_values = True

    def to_bytes(self, value: Any) -> bytes:
        return json.dumps(value, cls=DjangoJSONEncoder, separators=(",", ":")).encode("utf-8")

    def from_bytes(self, raw: bytes) -> Any:
        return json.loads(raw)

    def formfield(
        self,
        form_class: type[forms.Field] | None = None,
        choices_form_class: type[forms.ChoiceField] | None = None,
        **kwargs: Any,
    ) -> forms.Field | None:
        return super().formfield(
            form_class=form_class or forms.JSONField,
            choices_form_class=choices_form_class,
            **kwargs,
        )


class DataKeyField(models.OneToOneField):
    """The object's own data key, created at the first save if the object has none."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if not args:
            kwargs.setdefault("to", "encryption.DataKey")
            kwargs.setdefault("on_delete", models.PROTECT)
        kwargs.setdefault("related_name", "+")
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def pre_save(self, model_instance: Any, add: bool) -> Any:
        from encryption import services

        if getattr(model_instance, self.attname) is None:
            services.object_dek(model_instance)
        return getattr(model_instance, self.attname)
