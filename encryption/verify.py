"""Can this installation still read what it stored? The restore drill's check.

After a restore (database from one backup, file store from another, keys from a third)
the question is whether the three fit together: every sampled encrypted row decrypts
under a key this server has, and every sampled file is in the store and authenticates
to its end. ``manage.py encryption_verify`` runs it; the result holds counts and ids,
never content.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.apps import apps

from audit.services import event_record
from encryption.actions import EncryptionAction
from encryption.errors import EncryptionError
from encryption.fields import EncryptedField
from encryption.models import EncryptedFile, EncryptedModel


@dataclass
class VerifyReport:
    rows: int = 0
    values: int = 0
    files: int = 0
    file_bytes: int = 0
    failures: list[str] = field(default_factory=list)  # "<model label> <id>: <reason>"


def _encrypted_models() -> list[type[EncryptedModel]]:
    return [
        model
        for model in apps.get_models()
        if issubclass(model, EncryptedModel) and not model._meta.proxy
    ]


def stored_data_verify(*, sample: int) -> VerifyReport:
    """Decrypt the newest ``sample`` live rows of every encrypted model, files whole."""
    report = VerifyReport()
    for model in _encrypted_models():
        fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedField)]
        live = model.objects.filter(data_key__destroyed_at__isnull=True)  # type: ignore[attr-defined]
        for row in live.order_by("-pk")[:sample]:
            report.rows += 1
            try:
                for encrypted in fields:
                    getattr(row, encrypted.attname)
                    report.values += 1
                if isinstance(row, EncryptedFile):
                    from encryption.files import file_chunks

                    report.file_bytes += sum(len(chunk) for chunk in file_chunks(row))
                    report.files += 1
            except (EncryptionError, OSError) as error:
                reason = type(error).__name__
                report.failures.append(f"{model._meta.label_lower} {row.pk}: {reason}")
    event_record(
        action=EncryptionAction.STORE_VERIFIED,
        details={
            "rows": report.rows,
            "values": report.values,
            "files": report.files,
            "failures": len(report.failures),
        },
    )
    return report
