"""Demo mode's e-mail backend: each message is written to var/outbox as an .eml file.

Staff can read the outbox in the browser in demo mode, so a demo needs no mail server.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from email import message_from_bytes, policy
from email.message import EmailMessage as ParsedMessage
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage
from django.utils import timezone


class DemoOutboxBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        folder = Path(settings.DEMO_OUTBOX_DIR)
        folder.mkdir(parents=True, exist_ok=True)
        for message in email_messages:
            name = f"{timezone.now():%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}.eml"
            (folder / name).write_bytes(message.message().as_bytes())
        return len(email_messages)


def outbox_list(limit: int = 50) -> list[dict[str, str]]:
    """The newest messages as subject, recipient, date and plain-text body."""
    folder = Path(settings.DEMO_OUTBOX_DIR)
    if not folder.is_dir():
        return []
    emails = []
    for path in sorted(folder.glob("*.eml"), reverse=True)[:limit]:
        parsed: ParsedMessage = message_from_bytes(path.read_bytes(), policy=policy.default)
        body = parsed.get_body(preferencelist=("plain",))
        emails.append(
            {
                "subject": str(parsed["subject"]),
                "to": str(parsed["to"]),
                "date": str(parsed["date"]),
                "text": body.get_content() if body is not None else "",
            }
        )
    return emails
