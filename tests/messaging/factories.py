"""Messages made through the real services, as staff make them."""

from __future__ import annotations

import io
import re
import uuid
from typing import Any

from accounts.models import Role, User
from bench.other_patients import messages_load
from consent.models import Purpose, RecordCategory
from encryption.uploads import attachment_check
from messaging import delivery_settings, guests, services
from messaging.models import MIB, GuestPackage, Message
from tests.conftest import body_text
from tests.consent.factories import RECIPIENT_EMAIL
from tests.encryption.pdfs import PDF_BYTES


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


def delivery_policy_saved(personas: Any, *, max_mib: int = 10, **enabled: bool) -> None:
    """The officer saves the policy: every e-mail method enabled unless ``enabled`` says
    otherwise (``protected_pdf=False``), none to third parties, nothing restricted."""
    methods = {"tls_email": True, "protected_pdf": True, "plain_email": True, **enabled}
    delivery_settings.delivery_policy_update(
        actor=personas.privacy_officer,
        values=delivery_settings.PolicyValues(
            **methods,
            email_max_bytes=max_mib * MIB,
            restricted_categories=frozenset(),
            third_party_tls=False,
        ),
    )


def delivery_method_chosen(personas: Any, method: str) -> None:
    """Every e-mail method enabled by the officer; the patient chooses ``method``."""
    delivery_policy_saved(personas)
    delivery_settings.delivery_preference_set(
        actor=personas.patient, patient=personas.patient, method=method
    )


SUBJECT = "Thyroid panel for your referral"


BODY = "TSH came back at 7.2; please see the attached report."


LINK = re.compile(r"https?://\S+/portal/pickup/([^/\s]+)/")


def package_send(personas: Any, **overrides: Any) -> GuestPackage:
    values: dict[str, Any] = {
        "actor": personas.clinician,
        "patient": personas.patient,
        "recipient_email": RECIPIENT_EMAIL,
        "recipient_name": "Dr. Ana Rivera",
        "purpose": Purpose.CONTINUITY_OF_CARE,
        "categories": [RecordCategory.LAB_RESULTS],
        "subject": SUBJECT,
        "body": BODY,
        "attachments": [attachment_check(name="thyroid.pdf", data=PDF_BYTES)],
        "send_key": uuid.uuid4(),
    }
    values.update(overrides)
    return guests.guest_package_send(**values)


def package_sent_with_link(personas: Any, smtp_server: Any, on_commit: Any, **kw: Any) -> str:
    """Send (the link e-mail goes out after commit, eagerly) and return the link's token."""
    with on_commit(execute=True):
        package_send(personas, **kw)
    match = LINK.search(body_text(smtp_server.messages[-1]))
    assert match is not None
    return match.group(1)


OTHER_MESSAGES = 20_000


def crowd(personas: Any) -> None:
    """``OTHER_MESSAGES`` messages of twenty other patients, loaded in bulk, then ANALYZE."""
    others = [personas.other_patient.pk] + [
        User.objects.create_user(
            email=f"crowd.{i}@mail.test", full_name=f"Crowd {i}", role=Role.PATIENT
        ).pk
        for i in range(19)
    ]
    sample = message_sent(author=personas.records_clerk, patient=personas.other_patient, files=[])
    assert messages_load(sample=sample, patients=others, count=OTHER_MESSAGES) == OTHER_MESSAGES
