"""Messages made through the real services, as staff make them."""

from __future__ import annotations

import io
import uuid
from typing import Any

from encryption.uploads import attachment_check
from messaging import services
from messaging.models import Message
from tests.encryption.pdfs import blank_pdf

PDF_BYTES = blank_pdf()  # a real, parseable PDF: the upload check parses every one


def image_bytes(kind: str = "PNG", size: tuple[int, int] = (2, 2)) -> bytes:
    """A real image: the upload check reads its header for the pixel count."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(out, kind)
    return out.getvalue()


PNG_BYTES = image_bytes("PNG")


def message_sent(
    *,
    author: Any,
    patient: Any,
    subject: str = "Your appointment",
    body: str = "Please bring your medication list.",
    files: list[tuple[str, bytes]] | None = None,
    send: bool = True,
    send_key: uuid.UUID | None = None,
    thread: Any = None,
    category: str = "clinical",
    **extra: Any,
) -> Message:
    files = [("results.pdf", PDF_BYTES)] if files is None else files
    return services.message_compose(
        actor=author,
        draft=services.Draft(
            send_key=send_key or uuid.uuid4(),
            patient=patient,
            subject=subject,
            body=body,
            category=category,
            thread=thread,
            **extra,
        ),
        attachments=[attachment_check(name=name, data=data) for name, data in files],
        send=send,
    )
