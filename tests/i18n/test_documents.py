"""What a patient receives outside the portal's pages comes in their language: the
"new secure message" e-mail (through real SMTP, still with no health information), the
postal letter, the denial letter, the extension notice, the record package's cover and
the accounting of disclosures. An English-speaking patient's stay English.

PDFs are read back with pypdf: a few Spanish phrases must be there, and the English ones
they replace must not.
"""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest
import textstat
import time_machine
from django.conf import settings
from django.template.loader import render_to_string
from pypdf import PdfReader

from accounts.emails import email_render
from consent.accounting import accounting_pdf
from consent.services import preferences_update
from messaging.delivery import letter_render
from messaging.models import Delivery, Message
from records import services
from records.models import NoticeKind, RecordRequest, RequestNotice
from records.package import EN_DASH, package_build
from tests.conftest import body_text
from tests.i18n.language import GRADE_LIMIT, MIN_WORDS, grade, prose
from tests.i18n.pages import words
from tests.messaging.factories import message_sent
from tests.records.factories import COVER, built, request_received, sample_documents

pytestmark = pytest.mark.django_db

SUBJECT = "Melanoma biopsy findings"
BODY = "Your biopsy showed stage II melanoma; we start pembrolizumab on Tuesday."
MONDAY = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def spanish(personas: Any) -> Any:
    """The patient, reading Spanish."""
    personas.patient.language = "es"
    personas.patient.save(update_fields=["language"])
    return personas.patient


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def notice(req: RecordRequest, kind: str) -> tuple[str, Message]:
    """The stored notice's text, and the portal message that carried it."""
    stored = RequestNotice.objects.get(request=req, kind=kind)
    assert stored.message_id is not None
    return pdf_text(services.file_bytes(stored.file)), Message.objects.get(pk=stored.message_id)


def package_text(req: RecordRequest) -> str:
    assert req.package is not None
    return pdf_text(services.file_bytes(req.package))


def extended(personas: Any) -> RecordRequest:
    with time_machine.travel(MONDAY, tick=False):
        req = request_received(patient=personas.patient)
        return services.request_extend(
            actor=personas.records_clerk,
            request=req,
            reason="Our imaging archive is being moved to a new system.",
            new_due_day=date(2026, 4, 21),
        )


def denied(personas: Any, *, partial: bool = False) -> RecordRequest:
    with time_machine.travel(MONDAY, tick=False):
        req = request_received(patient=personas.patient)
        return services.request_deny(
            actor=personas.records_clerk,
            request=req,
            basis="These notes were prepared for a lawsuit.",
            partial=partial,
        )


def printed_letter(personas: Any, after_commit: Any) -> str:
    preferences_update(
        actor=personas.patient,
        patient=personas.patient,
        postal_only=True,
        postal_address="4 Elm Street\nSpringfield 01101",
    )
    with after_commit(execute=True):
        message = message_sent(
            author=personas.records_clerk, patient=personas.patient, subject=SUBJECT, body=BODY
        )
    delivery = Delivery.objects.get(message=message)
    return pdf_text(letter_render(actor=personas.records_clerk, delivery=delivery))


def accounting(personas: Any) -> str:
    return pdf_text(
        accounting_pdf(patient=personas.patient, entries=[], requested_by=personas.records_clerk)
    )


class TestTheNewMessageEmail:
    def test_it_arrives_in_spanish(
        self, personas: Any, spanish: Any, smtp_server: Any, django_capture_on_commit_callbacks: Any
    ) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            message_sent(author=personas.clinician, patient=spanish, subject=SUBJECT, body=BODY)
        [email] = smtp_server.messages
        assert "Tiene un nuevo mensaje seguro de" in str(email["Subject"])
        text = body_text(email)
        assert "Inicie sesión en el portal seguro" in text
        assert "no incluye el mensaje" in text
        assert "You have a new secure message" not in text + str(email["Subject"])

    def test_in_spanish_it_still_carries_no_health_information(
        self, personas: Any, spanish: Any, smtp_server: Any, django_capture_on_commit_callbacks: Any
    ) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            message_sent(author=personas.clinician, patient=spanish, subject=SUBJECT, body=BODY)
        [email] = smtp_server.messages
        text = (str(email["Subject"]) + "\n" + body_text(email)).lower()
        for secret in (SUBJECT, "melanoma", "biopsy", "pembrolizumab", "Penelope", "Quartermaine"):
            assert secret.lower() not in text

    def test_it_stays_english_for_an_english_reader(
        self, personas: Any, smtp_server: Any, django_capture_on_commit_callbacks: Any
    ) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            message_sent(author=personas.clinician, patient=personas.patient)
        [email] = smtp_server.messages
        assert "You have a new secure message from" in str(email["Subject"])
        assert "mensaje seguro" not in body_text(email)


class TestThePostalLetter:
    def test_it_is_in_spanish(
        self, personas: Any, spanish: Any, django_capture_on_commit_callbacks: Any
    ) -> None:
        text = printed_letter(personas, django_capture_on_commit_callbacks)
        assert "Tiene un mensaje seguro de" in text
        assert "correo postal en lugar de correo electrónico" in text
        assert "Atentamente" in text
        assert "Sincerely" not in text and "Dear" not in text
        assert "melanoma" not in text.lower()

    def test_it_stays_english_for_an_english_reader(
        self, personas: Any, django_capture_on_commit_callbacks: Any
    ) -> None:
        text = printed_letter(personas, django_capture_on_commit_callbacks)
        assert "by post instead of e-mail" in text and "Atentamente" not in text


class TestTheDenialLetter:
    def test_it_is_in_spanish_with_every_element_the_rule_asks_for(
        self, personas: Any, spanish: Any
    ) -> None:
        text, _ = notice(denied(personas), NoticeKind.DENIAL)
        assert "Vamos a negar su solicitud" in text
        assert "2 de marzo de 2026" in text  # the day received, a Spanish date
        assert "profesional de la salud con licencia" in text  # review rights
        assert "Cómo presentar una queja" in text and "1-800-368-1019" in text
        assert "Oficina de Derechos Civiles" in text
        assert "These notes were prepared for a lawsuit." in text  # the basis, as written
        for english in ("We are denying", "How to complain", "Sincerely", "March"):
            assert english not in text

    def test_a_partial_denial_is_in_spanish_too(self, personas: Any, spanish: Any) -> None:
        text, _ = notice(denied(personas, partial=True), NoticeKind.DENIAL)
        assert "Por qué negamos parte de su solicitud" in text
        assert "Le enviaremos el resto." in text

    def test_its_portal_message_is_in_spanish(self, personas: Any, spanish: Any) -> None:
        _, message = notice(denied(personas), NoticeKind.DENIAL)
        assert message.thread.subject == "Nuestra respuesta a su solicitud de registros médicos"

    def test_it_stays_english_for_an_english_reader(self, personas: Any) -> None:
        text, message = notice(denied(personas), NoticeKind.DENIAL)
        assert "We are denying your request." in text and "2 March 2026" in text
        assert "solicitud" not in text
        assert message.thread.subject == "Our answer to your request for your records"


class TestTheExtensionNotice:
    def test_it_is_in_spanish(self, personas: Any, spanish: Any) -> None:
        text, message = notice(extended(personas), NoticeKind.EXTENSION)
        assert "Necesitamos más tiempo" in text
        assert "Completaremos su solicitud a más tardar el martes 21 de abril de 2026" in text
        assert "hasta el 1 de abril de 2026" in text
        assert "prórroga" in text
        for english in ("We will complete", "Dear", "April", "Tuesday"):
            assert english not in text
        assert message.thread.subject == "Sobre su solicitud de registros médicos"

    def test_it_stays_english_for_an_english_reader(self, personas: Any) -> None:
        text, _ = notice(extended(personas), NoticeKind.EXTENSION)
        assert "We will complete your request by Tuesday 21 April 2026" in text
        assert "prórroga" not in text


class TestThePackageCover:
    def test_a_spanish_cover_is_in_spanish(self) -> None:
        cover = replace(COVER, language="es")
        text = pdf_text(package_build(cover=cover, documents=sample_documents()).pdf)
        assert "Copia de registros médicos" in text
        assert "Solicitud recibida 31 de enero de 2025" in text
        assert "Carta de presentación e índice Carta página 1" in text
        assert "Imagen PNG página 5" in text and f"páginas 2{EN_DASH}4" in text
        assert "Página 1 de 7" in text
        for english in ("Copy of health records", "Request received", "January", "Page 1 of"):
            assert english not in text

    def test_the_built_package_follows_the_patients_language(
        self, personas: Any, spanish: Any
    ) -> None:
        text = package_text(built(personas))
        assert "Copia de registros médicos" in text and "Copy of health records" not in text

    def test_an_english_patients_package_stays_english(self, personas: Any) -> None:
        text = package_text(built(personas))
        assert "Copy of health records" in text and "Copia de registros" not in text


class TestTheAccounting:
    def test_it_is_in_spanish(self, personas: Any, spanish: Any) -> None:
        text = accounting(personas)
        assert "Registro de divulgaciones" in text
        assert "No hubo divulgaciones en este período." in text
        assert "Período que cubre:" in text and " de 20" in text
        for english in ("Accounting of disclosures", "No disclosures", "Period covered"):
            assert english not in text

    def test_it_stays_english_for_an_english_reader(self, personas: Any) -> None:
        text = accounting(personas)
        assert "Accounting of disclosures" in text and "divulgaciones" not in text


class TestPlainEnglish:
    """The English a patient reads in these documents grades at 8 or below, like the
    portal's pages (tests/i18n/test_readability.py): the legal reference lines
    (``class="legal"``) and what staff wrote (``translate="no"``) left out."""

    def assert_plain(self, html: str) -> None:
        text = prose(words(html, legal=False))
        assert textstat.lexicon_count(text) >= MIN_WORDS, text
        assert grade(text) <= GRADE_LIMIT, f"grade {grade(text)}\n{text}"

    def context(self, personas: Any, **extra: Any) -> dict[str, Any]:
        return {
            "organisation": settings.ORGANISATION_NAME,
            "portal_url": settings.PORTAL_BASE_URL,
            "privacy_contact": settings.RECORDS_PRIVACY_CONTACT,
            "today": date(2026, 3, 3),
            "request": request_received(patient=personas.patient),
            **extra,
        }

    def test_the_denial_letter(self, personas: Any) -> None:
        for partial in (False, True):
            context = self.context(personas, basis="A lawsuit.", partial=partial)
            self.assert_plain(render_to_string("records/denial_letter.html", context))

    def test_the_extension_notice(self, personas: Any) -> None:
        context = self.context(
            personas,
            reason="A move.",
            new_due_day=date(2026, 4, 21),
            original_due_day=date(2026, 4, 1),
        )
        self.assert_plain(render_to_string("records/extension_notice.html", context))

    def test_the_postal_letter(self, personas: Any) -> None:
        context = self.context(personas, name="Ann Lee", postal_only=True, date=date(2026, 3, 3))
        self.assert_plain(render_to_string("messaging/letter.html", context))

    def test_the_package_cover(self) -> None:
        context = {"cover": COVER, "entries": [], "cover_pages_label": "page 1"}
        self.assert_plain(render_to_string("records/package_cover.html", context))

    def test_the_emails_together(self) -> None:
        # Each alone is too short for the formula (under MIN_WORDS words of prose).
        contexts: dict[str, dict[str, Any]] = {
            "messaging/email/new_message": {"sign_in_url": "https://portal.example/sign-in/"},
            "messaging/email/guest_link": {"link": "https://x.example/", "expires_on": MONDAY},
            "messaging/email/guest_code": {"code": "123456", "minutes": 10},
        }
        html = "".join(
            email_render(template=template, context=context).html
            for template, context in contexts.items()
        )
        self.assert_plain(html)
