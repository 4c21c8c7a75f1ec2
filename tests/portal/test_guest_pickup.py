"""Guest pickup through HTTP: staff send to a third party, the recipient opens the link,
asks for a code, enters it, reads and downloads; and everything that stops them."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from consent import services as consent_services
from consent.decision import REASON_TEXT
from consent.models import Purpose, RecordCategory
from messaging import guests
from messaging.models import GuestPackage
from tests.conftest import body_text
from tests.consent.factories import RECIPIENT_EMAIL, authorization_signed
from tests.messaging.factories import PDF_BYTES

pytestmark = pytest.mark.django_db

SECOND_RECIPIENT = "claims@harbour-insurance.test"
LINK = re.compile(r"https?://[^/\s]+(/portal/pickup/[^/\s]+/)")
CODE = re.compile(r"\b(\d{6})\b")
CODE_URL = reverse("portal:guest_code")
PACKAGE_URL = reverse("portal:guest_package")


def form_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "send_key": str(uuid.uuid4()),
        "recipient_email": RECIPIENT_EMAIL,
        "recipient_name": "Dr. Ana Rivera",
        "purpose": Purpose.CONTINUITY_OF_CARE,
        "categories": [RecordCategory.LAB_RESULTS],
        "subject": "Thyroid panel",
        "body": "TSH is **7.2**, see the report.",
    }
    data.update(overrides)
    return data


class Guest:
    """One recipient's browser: their own cookies, their own e-mails."""

    def __init__(self, smtp_server: Any, on_commit: Any, address: str = RECIPIENT_EMAIL) -> None:
        self.client = Client()
        self.smtp_server, self.on_commit, self.address = smtp_server, on_commit, address

    def mails(self) -> list[str]:
        return [
            body_text(m) for m in self.smtp_server.messages if m["X-Envelope-To"] == self.address
        ]

    def last_mail(self) -> str:
        return self.mails()[-1]

    def link(self) -> str:
        links = [match.group(1) for text in self.mails() if (match := LINK.search(text))]
        assert len(links) == 1
        return links[0]

    def send_code(self) -> Any:
        with self.on_commit(execute=True):
            return self.client.post(CODE_URL, {"action": "send"})

    def code(self) -> str:
        match = CODE.search(self.last_mail())
        assert match is not None
        return match.group(1)

    def pick_up(self) -> Any:
        assert self.client.post(self.link())["Location"] == CODE_URL
        self.send_code()
        return self.client.post(CODE_URL, {"code": self.code()})


@pytest.fixture
def authorized(personas: Any) -> Any:
    return authorization_signed(patient=personas.patient)


@pytest.fixture
def sent(
    personas: Any,
    authorized: Any,
    client_for: Any,
    smtp_server: Any,
    django_capture_on_commit_callbacks: Any,
) -> GuestPackage:
    """Sent by the clinician through the composer, with a PDF attached."""
    upload = SimpleUploadedFile("thyroid.pdf", PDF_BYTES, content_type="application/pdf")
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(personas.clinician).post(
            reverse("messaging:guest_compose", args=[personas.patient.pk]),
            form_data(attachments=upload),
        )
    assert response.status_code == 302, response.content.decode()
    return GuestPackage.objects.get()


@pytest.fixture
def guest(sent: GuestPackage, smtp_server: Any, django_capture_on_commit_callbacks: Any) -> Guest:
    return Guest(smtp_server, django_capture_on_commit_callbacks)


class TestStaffCompose:
    def test_a_send_lands_in_the_patients_package_list(
        self, personas: Any, sent: GuestPackage, client_for: Any
    ) -> None:
        page = client_for(personas.clinician).get(
            reverse("messaging:guest_packages", args=[personas.patient.pk])
        )
        text = page.content.decode()
        assert "Thyroid panel" in text and RECIPIENT_EMAIL in text and ">sent<" in text

    def test_the_composer_offers_the_authorized_recipients(
        self, personas: Any, authorized: Any, client_for: Any
    ) -> None:
        page = client_for(personas.clinician).get(
            reverse("messaging:guest_compose", args=[personas.patient.pk])
        )
        assert f'<option value="{RECIPIENT_EMAIL}">' in page.content.decode()

    def test_a_refusal_lists_the_reasons_and_keeps_what_was_typed(
        self, personas: Any, authorized: Any, client_for: Any, smtp_server: Any
    ) -> None:
        response = client_for(personas.clinician).post(
            reverse("messaging:guest_compose", args=[personas.patient.pk]),
            form_data(purpose=Purpose.LEGAL, subject="Kept subject"),
        )
        text = response.content.decode()
        assert REASON_TEXT["purpose"] in text and 'value="Kept subject"' in text
        assert not GuestPackage.objects.exists() and smtp_server.messages == []

    def test_a_records_clerk_sees_only_the_packages_they_sent(
        self, personas: Any, sent: GuestPackage, client_for: Any
    ) -> None:
        url = reverse("messaging:guest_packages", args=[personas.patient.pk])
        text = client_for(personas.records_clerk).get(url).content.decode()
        assert "Thyroid panel" not in text and RECIPIENT_EMAIL not in text
        assert "Nothing has been sent" in text
        assert "Thyroid panel" in client_for(personas.privacy_officer).get(url).content.decode()

    def test_a_records_clerk_cannot_reach_another_senders_package(
        self, personas: Any, sent: GuestPackage, client_for: Any
    ) -> None:
        url = reverse("messaging:guest_recall", args=[sent.pk])
        assert client_for(personas.records_clerk).post(url).status_code == 404

    def test_an_ssn_like_subject_is_refused_and_nothing_is_stored(
        self, personas: Any, authorized: Any, client_for: Any, smtp_server: Any
    ) -> None:
        response = client_for(personas.clinician).post(
            reverse("messaging:guest_compose", args=[personas.patient.pk]),
            form_data(subject="Results for 123-45-6789", acknowledge="on"),
        )
        assert response.status_code == 200
        assert "looks like a Social Security number" in response.content.decode()
        assert not GuestPackage.objects.exists() and smtp_server.messages == []

    def test_a_subject_warning_sends_only_once_acknowledged(
        self, personas: Any, authorized: Any, client_for: Any
    ) -> None:
        client = client_for(personas.clinician)
        url = reverse("messaging:guest_compose", args=[personas.patient.pk])
        data = form_data(subject="Thyroid panel, MRN on file")
        warned = client.post(url, data).content.decode()
        assert "names a medical record number" in warned and 'name="acknowledge"' in warned
        assert not GuestPackage.objects.exists()
        assert client.post(url, {**data, "acknowledge": "on"}).status_code == 302
        assert GuestPackage.objects.get().subject == "Thyroid panel, MRN on file"

    def test_the_acknowledgement_is_not_offered_before_a_warning(
        self, personas: Any, authorized: Any, client_for: Any
    ) -> None:
        url = reverse("messaging:guest_compose", args=[personas.patient.pk])
        page = client_for(personas.clinician).get(url).content.decode()
        assert 'name="acknowledge"' not in page

    def test_a_patient_outside_the_care_team_is_404(self, personas: Any, client_for: Any) -> None:
        url = reverse("messaging:guest_compose", args=[personas.other_patient.pk])
        assert client_for(personas.clinician).get(url).status_code == 404

    def test_a_recall_without_the_confirmation_box_changes_nothing(
        self, personas: Any, sent: GuestPackage, guest: Guest, client_for: Any
    ) -> None:
        url = reverse("messaging:guest_recall", args=[sent.pk])
        page = client_for(personas.clinician).post(url, follow=True).content.decode()
        assert "Nothing was recalled. Tick the box to confirm the recall." in page
        sent.refresh_from_db()
        assert sent.recalled_at is None
        assert guest.client.get(guest.link()).status_code == 200

    def test_only_the_sender_can_recall(
        self, personas: Any, sent: GuestPackage, client_for: Any
    ) -> None:
        url = reverse("messaging:guest_recall", args=[sent.pk])
        client_for(personas.records_clerk).post(url, {"confirm": "on"})
        sent.refresh_from_db()
        assert sent.recalled_at is None
        client_for(personas.clinician).post(url, {"confirm": "on"})
        sent.refresh_from_db()
        assert sent.recalled_at is not None


class TestOpeningTheLink:
    def test_the_link_binds_this_browser_and_leads_to_the_code_page(self, guest: Guest) -> None:
        response = guest.client.post(guest.link())
        assert response.status_code == 302 and response["Location"] == CODE_URL
        assert response.cookies[guests.BROWSER_COOKIE]["httponly"]
        assert "Send me a code" in guest.client.get(CODE_URL).content.decode()

    def test_the_browser_key_outlives_any_package_whatever_was_opened_last(
        self, guest: Guest
    ) -> None:
        # A package with 4 days left must not cut the key short for a newer one.
        with time_machine.travel(timezone.now() + timedelta(days=10)):
            response = guest.client.post(guest.link())
        cookie = response.cookies[guests.BROWSER_COOKIE]
        assert int(cookie["max-age"]) == (guests.pickup_days() + 1) * 24 * 3600

    def test_fetching_the_link_does_not_use_it_up(self, guest: Guest) -> None:
        scanner = Client().get(guest.link())  # a mail scanner follows links with GET
        assert scanner.status_code == 200 and "Continue" in scanner.content.decode()
        response = guest.client.post(guest.link())
        assert response.status_code == 302 and response["Location"] == CODE_URL

    def test_the_link_reused_from_another_browser_is_refused(self, guest: Guest) -> None:
        guest.client.post(guest.link())
        response = Client().get(guest.link())
        assert response.status_code == 410
        assert "already been used" in response.content.decode()

    def test_an_expired_link_is_refused(self, guest: Guest) -> None:
        with time_machine.travel(timezone.now() + timedelta(days=14, minutes=1)):
            response = guest.client.post(guest.link())
        assert response.status_code == 410 and "expired" in response.content.decode()

    def test_an_invalid_link_is_404(self, guest: Guest) -> None:
        response = guest.client.get(reverse("portal:guest_open", args=["not-a-token"]))
        assert response.status_code == 404

    def test_the_pickup_pages_without_the_link_are_404(self, guest: Guest) -> None:
        assert Client().get(CODE_URL).status_code == 404
        assert Client().get(PACKAGE_URL).status_code == 404

    def test_the_package_needs_the_code_first(self, guest: Guest) -> None:
        guest.client.post(guest.link())
        assert guest.client.get(PACKAGE_URL)["Location"] == CODE_URL


class TestCode:
    def test_the_right_code_opens_the_package(self, guest: Guest) -> None:
        response = guest.pick_up()
        assert response["Location"] == PACKAGE_URL
        page = guest.client.get(PACKAGE_URL).content.decode()
        assert "Thyroid panel" in page and "<strong>7.2</strong>" in page and "thyroid.pdf" in page

    def test_the_code_field_is_labelled_for_one_time_codes(self, guest: Guest) -> None:
        guest.client.post(guest.link())
        page = guest.client.get(CODE_URL).content.decode()
        assert 'autocomplete="one-time-code"' in page and 'inputmode="numeric"' in page
        assert '<label for="id_code">' in page

    def test_the_send_button_sends_once_a_minute(self, guest: Guest, smtp_server: Any) -> None:
        guest.client.post(guest.link())
        guest.send_code()
        page = guest.client.get(guest.send_code()["Location"]).content.decode()
        assert "less than a minute ago" in page
        assert len(smtp_server.messages) == 2  # the link and one code

    def test_five_wrong_codes_lock_the_link_and_the_right_one_then_fails(
        self, guest: Guest
    ) -> None:
        guest.client.post(guest.link())
        guest.send_code()
        code = guest.code()
        wrong = "000000" if code != "000000" else "111111"
        statuses = [guest.client.post(CODE_URL, {"code": wrong}).status_code for _ in range(5)]
        assert statuses == [400, 400, 400, 400, 410]
        assert guest.client.post(CODE_URL, {"code": code}).status_code == 410
        assert guest.client.post(guest.link()).status_code == 410

    def test_a_code_older_than_ten_minutes_is_refused(self, guest: Guest) -> None:
        guest.client.post(guest.link())
        guest.send_code()
        with time_machine.travel(timezone.now() + timedelta(minutes=11)):
            response = guest.client.post(CODE_URL, {"code": guest.code()})
        assert response.status_code == 400 and "expired" in response.content.decode()


class TestPackage:
    def test_each_view_is_in_the_patients_access_log_as_anonymous(
        self, personas: Any, guest: Guest
    ) -> None:
        guest.pick_up()
        guest.client.get(PACKAGE_URL)
        guest.client.get(PACKAGE_URL)
        views = AuditEvent.objects.filter(action="messaging.guest_package_viewed")
        assert views.count() == 2
        assert {(e.patient_id, e.actor_kind) for e in views} == {(personas.patient.pk, "anonymous")}

    def test_the_download_is_the_uploaded_file_with_safe_headers(
        self, sent: GuestPackage, guest: Guest
    ) -> None:
        guest.pick_up()
        attachment = sent.attachments.get()
        response = guest.client.get(reverse("portal:guest_attachment", args=[attachment.pk]))
        assert b"".join(response.streaming_content) == PDF_BYTES  # type: ignore[attr-defined]
        assert response["Content-Disposition"].startswith("attachment")
        assert response["X-Content-Type-Options"] == "nosniff"
        assert "no-store" in response["Cache-Control"]
        assert AuditEvent.objects.filter(
            action="messaging.guest_attachment_downloaded", target_id=str(attachment.pk)
        ).exists()

    def test_a_second_recipient_cannot_reach_the_first_package(
        self,
        personas: Any,
        sent: GuestPackage,
        guest: Guest,
        client_for: Any,
        smtp_server: Any,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        authorization_signed(
            patient=personas.patient,
            recipient_email=SECOND_RECIPIENT,
            recipient_name="Harbour Insurance",
            purposes=[Purpose.INSURANCE],
        )
        with django_capture_on_commit_callbacks(execute=True):
            client_for(personas.clinician).post(
                reverse("messaging:guest_compose", args=[personas.patient.pk]),
                form_data(
                    recipient_email=SECOND_RECIPIENT,
                    purpose=Purpose.INSURANCE,
                    subject="Claim form",
                ),
            )
        guest.pick_up()
        second = Guest(smtp_server, django_capture_on_commit_callbacks, SECOND_RECIPIENT)
        second.pick_up()
        attachment = sent.attachments.get()
        url = reverse("portal:guest_attachment", args=[attachment.pk])
        assert second.client.get(url).status_code == 404
        assert "Thyroid" not in second.client.get(PACKAGE_URL).content.decode()
        assert second.client.get(guest.link()).status_code == 410

    def test_a_recall_ends_a_verified_session_at_once(
        self, personas: Any, sent: GuestPackage, guest: Guest, client_for: Any
    ) -> None:
        guest.pick_up()
        client_for(personas.clinician).post(
            reverse("messaging:guest_recall", args=[sent.pk]), {"confirm": "on"}
        )
        response = guest.client.get(PACKAGE_URL)
        assert (
            response.status_code == 410
            and "taken this information back" in response.content.decode()
        )
        url = reverse("portal:guest_attachment", args=[sent.attachments.get().pk])
        assert guest.client.get(url).status_code == 410

    def test_a_revocation_ends_a_verified_session_at_once(
        self, personas: Any, authorized: Any, sent: GuestPackage, guest: Guest
    ) -> None:
        guest.pick_up()
        assert guest.client.get(PACKAGE_URL).status_code == 200
        consent_services.authorization_revoke(
            actor=personas.patient, authorization=authorized, source="portal"
        )
        response = guest.client.get(PACKAGE_URL)
        assert response.status_code == 410
        assert "Thyroid" not in response.content.decode()
