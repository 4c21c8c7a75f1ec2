"""The composer helps a person fix what they sent: an error summary linked to the fields,
a character counter instead of a silent cut, the files to choose again, and the subject
acknowledgement only after a warning (the shared components/ partials do the work)."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from messaging.models import Message
from tests.messaging.factories import PDF_BYTES

pytestmark = pytest.mark.django_db


def compose_url(patient: Any) -> str:
    return reverse("messaging:compose", args=[patient.pk])


def form_data(**overrides: Any) -> dict[str, Any]:
    data = {
        "send_key": str(uuid.uuid4()),
        "subject": "Your appointment",
        "category": "clinical",
        "body": "See you Tuesday.",
        "send": "1",
    }
    return {**data, **overrides}


def post(client: Any, patient: Any, **overrides: Any) -> str:
    response = client.post(compose_url(patient), form_data(**overrides))
    assert response.status_code == 200
    return str(response.content.decode())


class TestLongText:
    def test_a_pasted_long_subject_is_refused_and_kept_to_shorten(
        self, personas: Any, client_for: Any
    ) -> None:
        subject = "Results " + "x" * 9992
        page = post(client_for(personas.clinician), personas.patient, subject=subject)
        assert "at most 200 characters (it has 10000)" in page
        assert f'value="{subject}"' in page
        assert not Message.objects.exists()

    def test_the_browser_is_never_told_to_cut_text(self, personas: Any, client_for: Any) -> None:
        page = client_for(personas.clinician).get(compose_url(personas.patient)).content.decode()
        assert "maxlength" not in page.replace("data-maxlength", "")
        assert 'data-maxlength="200"' in page

    def test_a_counter_shows_the_characters_used(self, personas: Any, client_for: Any) -> None:
        page = post(client_for(personas.clinician), personas.patient, subject="Hello", body="")
        assert "5 of 200 characters" in page
        assert 'data-counter-for="id_subject"' in page
        assert 'data-counter-text="{used} of 200 characters"' in page


class TestErrorSummary:
    def test_each_error_links_to_its_field(self, personas: Any, client_for: Any) -> None:
        page = post(client_for(personas.clinician), personas.patient, subject="", body="")
        start = page.index("data-error-summary")
        summary = page[start : page.index("</ul>", start)]
        assert 'href="#id_subject"' in summary and 'href="#id_body"' in summary
        assert 'tabindex="-1"' in page[page.index('class="error-summary"') :][:200]

    def test_a_page_without_errors_has_no_summary(self, personas: Any, client_for: Any) -> None:
        page = client_for(personas.clinician).get(compose_url(personas.patient)).content.decode()
        assert "data-error-summary" not in page

    def test_the_summary_script_is_a_static_file(self, personas: Any, client_for: Any) -> None:
        page = client_for(personas.clinician).get(compose_url(personas.patient)).content.decode()
        assert '<script src="/static/js/forms.js" defer></script>' in page


class TestFilesToChooseAgain:
    def test_a_refused_upload_names_every_file_to_choose_again(
        self, personas: Any, client_for: Any
    ) -> None:
        files = [
            SimpleUploadedFile("setup.pdf", b"MZ\x90\x00" + b"\x00" * 60),
            SimpleUploadedFile("a.pdf", PDF_BYTES),
        ]
        page = post(
            client_for(personas.clinician), personas.patient, attachments=files, body="Keep me"
        )
        assert page.count("Choose these files again: setup.pdf, a.pdf") == 2  # summary + field
        assert "Keep me" in page and 'value="Your appointment"' in page
        assert not Message.objects.exists()

    def test_file_names_are_escaped(self, personas: Any, client_for: Any) -> None:
        upload = SimpleUploadedFile('<img src=x onerror="x">.pdf', b"MZ\x90\x00" + b"\x00" * 60)
        page = post(client_for(personas.clinician), personas.patient, attachments=upload)
        assert "<img src=x" not in page
        assert "&lt;img src=x onerror=&quot;x&quot;&gt;.pdf" in page

    def test_a_form_shown_without_files_asks_for_none(self, personas: Any, client_for: Any) -> None:
        page = post(client_for(personas.clinician), personas.patient, subject="")
        assert "Choose these files again" not in page


class TestSubjectAcknowledgement:
    def test_the_composer_does_not_offer_it_at_first(self, personas: Any, client_for: Any) -> None:
        page = client_for(personas.clinician).get(compose_url(personas.patient)).content.decode()
        assert 'name="acknowledge"' not in page

    def test_a_plain_subject_sends_without_it(self, personas: Any, client_for: Any) -> None:
        response = client_for(personas.clinician).post(compose_url(personas.patient), form_data())
        assert response.status_code == 302 and Message.objects.count() == 1

    def test_a_risky_subject_warns_and_then_offers_it(self, personas: Any, client_for: Any) -> None:
        page = post(client_for(personas.clinician), personas.patient, subject="Call (555) 123-4567")
        assert "looks like a phone number" in page
        assert 'name="acknowledge"' in page
        assert not Message.objects.exists()

    def test_another_error_alone_does_not_offer_it(self, personas: Any, client_for: Any) -> None:
        page = post(client_for(personas.clinician), personas.patient, body="")
        assert 'name="acknowledge"' not in page


class TestOneAnnouncement:
    def test_errors_are_announced_once_by_the_summary(self, personas: Any, client_for: Any) -> None:
        # Two fields in error: the summary is the only live region; each field's error is
        # tied to it by aria-describedby instead of being announced a second time.
        page = post(client_for(personas.clinician), personas.patient, subject="", body="")
        assert page.count('role="alert"') == 1
        assert 'class="error-summary" role="alert"' in page
        subject_input = re.search(r'<input[^>]*name="subject"[^>]*>', page)
        assert subject_input is not None
        assert re.search(r'aria-describedby="[^"]*id_subject_error', subject_input.group(0))
