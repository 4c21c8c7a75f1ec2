from __future__ import annotations

from typing import ClassVar

from django.db import models

from encryption.fields import EncryptedJSONField, EncryptedTextField
from encryption.models import EncryptedModel


class Note(EncryptedModel):
    """A stand-in for a message or note: a clear label for lists, encrypted content."""

    label = models.CharField(max_length=50, default="")
    subject = EncryptedTextField(max_length=200)
    body = EncryptedTextField(blank=True)
    answers = EncryptedJSONField(null=True, blank=True)

    # Spelled out so type checking works whether or not this test-only app is installed.
    objects: ClassVar[models.Manager[Note]] = models.Manager()

    def __str__(self) -> str:
        return self.label
