"""The patient's reply form helps fix a refusal: the error summary links to the field, the
files to choose again are named, and the counter shows the limit."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from messaging.forms import BODY_MAX
from messaging.models import Message
from tests.messaging.factories import PNG_BYTES, message_sent

pytestmark = pytest.mark.django_db


def reply(personas: Any, client: Any, **data: Any) -> str:
    message = message_sent(author=personas.clinician, patient=personas.patient)
    response = client.post(
        reverse("portal:reply", args=[message.thread_id]),
        {"send_key": str(uuid.uuid4()), **data},
    )
    assert response.status_code == 400
    return str(response.content.decode())


class TestReplyForm:
    def test_an_empty_reply_is_summarised_with_a_link_and_the_photo_named(
        self, personas: Any, client_for: Any
    ) -> None:
        page = reply(
            personas,
            client_for(personas.patient),
            body=" ",
            attachments=SimpleUploadedFile("rash.png", PNG_BYTES),
        )
        start = page.index("data-error-summary")
        summary = page[start : page.index("</ul>", start)]
        assert 'href="#id_body"' in summary
        assert "Choose these files again: rash.png" in summary
        assert not Message.objects.filter(from_patient=True).exists()

    def test_a_too_long_reply_is_refused_and_kept(self, personas: Any, client_for: Any) -> None:
        body = "a" * (BODY_MAX + 1)
        page = reply(personas, client_for(personas.patient), body=body)
        assert f"{BODY_MAX + 1} of {BODY_MAX} characters" in page
        assert f"{body}</textarea>" in page
        assert not Message.objects.filter(from_patient=True).exists()
