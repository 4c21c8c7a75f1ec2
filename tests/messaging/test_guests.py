"""Guest pickup at the service level: the decision gates the send, the link binds one
browser, codes lock after five wrong tries, and recall or revocation end access at once."""

from __future__ import annotations

import asyncio
import re
import threading
import uuid
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from audit.models import AuditEvent
from consent import services as consent_services
from consent.decision import REASON_TEXT
from consent.models import Disclosure, Purpose, RecordCategory
from encryption.models import EncryptedFile
from messaging import guest_pickup, guests
from messaging.errors import MessagingError
from messaging.models import GuestPackage
from tests.conftest import body_text
from tests.consent.factories import RECIPIENT_EMAIL, authorization_signed
from tests.messaging.factories import (
    LINK,
    SUBJECT,
    package_send,
    package_sent_with_link,
)

pytestmark = pytest.mark.django_db

CODE = re.compile(r"\b(\d{6})\b")


def code_requested(package: GuestPackage, smtp_server: Any, on_commit: Any) -> str:
    with on_commit(execute=True):
        guest_pickup.guest_code_request(package=package)
    match = CODE.search(body_text(smtp_server.messages[-1]))
    assert match is not None
    return match.group(1)


@pytest.fixture
def authorized(personas: Any) -> Any:
    return authorization_signed(patient=personas.patient)


class TestSendRefused:
    def test_without_an_authorization_nothing_is_stored_or_sent(
        self, personas: Any, smtp_server: Any, django_capture_on_commit_callbacks: Any
    ) -> None:
        with (
            django_capture_on_commit_callbacks(execute=True),
            pytest.raises(guests.GuestSendRefused) as refused,
        ):
            package_send(personas)
        assert refused.value.decision.reasons == ("none",)
        assert REASON_TEXT["none"] in refused.value.message
        assert not GuestPackage.objects.exists() and not EncryptedFile.objects.exists()
        assert not Disclosure.objects.exists() and smtp_server.messages == []

    def test_a_refusal_is_audited_with_its_reasons(self, personas: Any) -> None:
        with pytest.raises(guests.GuestSendRefused):
            package_send(personas)
        event = AuditEvent.objects.get(action="consent.disclosure_refused")
        assert event.details == {"reasons": ["none"], "channel": "guest_package"}
        assert event.patient_id == personas.patient.pk
        assert event.actor_id == personas.clinician.pk

    def test_another_recipient_is_refused(self, personas: Any, authorized: Any) -> None:
        with pytest.raises(guests.GuestSendRefused) as refused:
            package_send(personas, recipient_email="someone.else@elsewhere.test")
        assert refused.value.decision.reasons == ("recipient",)
        assert not GuestPackage.objects.exists()

    def test_another_purpose_is_refused(self, personas: Any, authorized: Any) -> None:
        with pytest.raises(guests.GuestSendRefused) as refused:
            package_send(personas, purpose=Purpose.LEGAL)
        assert refused.value.decision.reasons == ("purpose",)

    def test_information_the_authorization_does_not_cover_is_refused(
        self, personas: Any, authorized: Any
    ) -> None:
        with pytest.raises(guests.GuestSendRefused) as refused:
            package_send(personas, categories=[RecordCategory.BILLING])
        assert refused.value.decision.reasons == ("scope",)

    def test_a_patient_outside_the_senders_care_team_is_refused(self, personas: Any) -> None:
        authorization_signed(patient=personas.other_patient)
        with pytest.raises(MessagingError) as refused:
            package_send(personas, patient=personas.other_patient)
        assert refused.value.code == "not_on_care_team"


class TestSend:
    def test_a_send_is_one_disclosure_relying_on_the_authorization(
        self, personas: Any, authorized: Any
    ) -> None:
        package = package_send(personas)
        disclosure = Disclosure.objects.get()
        assert package.disclosure_id == disclosure.pk
        assert disclosure.authorization_id == authorized.pk
        assert disclosure.recipient_address == RECIPIENT_EMAIL
        assert disclosure.purpose == Purpose.CONTINUITY_OF_CARE
        assert disclosure.description == f"{SUBJECT}, with 1 attachment"
        assert (disclosure.source_type, disclosure.source_id) == (
            "messaging.guestpackage",
            str(package.pk),
        )

    def test_the_package_expires_after_fourteen_days(self, personas: Any, authorized: Any) -> None:
        package = package_send(personas)
        assert package.expires_at - package.created_at == timedelta(days=14)

    def test_the_same_send_key_sends_once(
        self,
        personas: Any,
        authorized: Any,
        smtp_server: Any,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        key = uuid.uuid4()
        with django_capture_on_commit_callbacks(execute=True):
            first = package_send(personas, send_key=key)
            again = package_send(personas, send_key=key)
        assert again.pk == first.pk
        assert Disclosure.objects.count() == 1 and len(smtp_server.messages) == 1
        assert EncryptedFile.objects.count() == 1

    def test_the_link_email_carries_no_health_information(
        self,
        personas: Any,
        authorized: Any,
        smtp_server: Any,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        token = package_sent_with_link(personas, smtp_server, django_capture_on_commit_callbacks)
        mail = smtp_server.messages[0]
        text = (mail["Subject"] + body_text(mail)).lower()
        assert mail["X-Envelope-To"] == RECIPIENT_EMAIL
        for secret in ("thyroid", "tsh", "penelope", "quartermaine", "mrn-555001", "thyroid.pdf"):
            assert secret not in text
        assert "expires on" in text and "works once" in text and "code" in text
        package = GuestPackage.objects.get()
        assert package.link_sent_at is not None and token not in package.link_hash

    def test_the_send_is_audited_without_the_recipient(
        self, personas: Any, authorized: Any
    ) -> None:
        package = package_send(personas)
        event = AuditEvent.objects.get(action="messaging.guest_package_sent")
        assert event.target_id == str(package.pk) and event.patient_id == personas.patient.pk
        assert "rivera" not in str(event.details).lower()

    def test_an_unsent_link_is_sent_by_the_sweep(
        self, personas: Any, authorized: Any, smtp_server: Any
    ) -> None:
        from messaging.tasks import deliveries_sweep

        package_send(personas)  # the on-commit prompt is lost, as in a broker outage
        assert smtp_server.messages == []
        with time_machine.travel(timezone.now() + timedelta(minutes=3)):
            deliveries_sweep()
        assert [m["X-Envelope-To"] for m in smtp_server.messages] == [RECIPIENT_EMAIL]
        assert GuestPackage.objects.get().link_sent_at is not None


class TestLink:
    def test_the_first_open_binds_the_browser_which_may_reopen(
        self,
        personas: Any,
        authorized: Any,
        smtp_server: Any,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        token = package_sent_with_link(personas, smtp_server, django_capture_on_commit_callbacks)
        first = guest_pickup.guest_link_open(token=token, browser_key="browser-one")
        again = guest_pickup.guest_link_open(token=token, browser_key="browser-one")
        assert first.pk == again.pk and again.link_opened_at == first.link_opened_at

    def test_another_browser_finds_the_link_used(
        self,
        personas: Any,
        authorized: Any,
        smtp_server: Any,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        token = package_sent_with_link(personas, smtp_server, django_capture_on_commit_callbacks)
        guest_pickup.guest_link_open(token=token, browser_key="browser-one")
        with pytest.raises(guests.GuestRefused) as refused:
            guest_pickup.guest_link_open(token=token, browser_key="browser-two")
        assert refused.value.code == "used" and refused.value.status == 410

    def test_the_link_is_refused_once_the_package_expired(
        self,
        personas: Any,
        authorized: Any,
        smtp_server: Any,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        token = package_sent_with_link(personas, smtp_server, django_capture_on_commit_callbacks)
        with (
            time_machine.travel(timezone.now() + timedelta(days=14, seconds=1)),
            pytest.raises(guests.GuestRefused) as refused,
        ):
            guest_pickup.guest_link_open(token=token, browser_key="browser-one")
        assert refused.value.code == "expired"

    def test_an_altered_link_is_not_valid(
        self,
        personas: Any,
        authorized: Any,
        smtp_server: Any,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        token = package_sent_with_link(personas, smtp_server, django_capture_on_commit_callbacks)
        with pytest.raises(guests.GuestRefused) as refused:
            guest_pickup.guest_link_open(token=token[:-2] + "xx", browser_key="browser-one")
        assert refused.value.code == "invalid" and refused.value.status == 404

    def test_a_refused_open_is_audited_in_the_patients_log(
        self,
        personas: Any,
        authorized: Any,
        smtp_server: Any,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        token = package_sent_with_link(personas, smtp_server, django_capture_on_commit_callbacks)
        guest_pickup.guest_link_open(token=token, browser_key="browser-one")
        with pytest.raises(guests.GuestRefused):
            guest_pickup.guest_link_open(token=token, browser_key="browser-two")
        event = AuditEvent.objects.get(action="messaging.guest_link_refused")
        assert event.patient_id == personas.patient.pk
        assert event.details == {"reason": "used", "step": "link"}


@pytest.fixture
def opened(
    personas: Any, authorized: Any, smtp_server: Any, django_capture_on_commit_callbacks: Any
) -> GuestPackage:
    token = package_sent_with_link(personas, smtp_server, django_capture_on_commit_callbacks)
    return guest_pickup.guest_link_open(token=token, browser_key="browser-one")


def verified(package: GuestPackage, smtp_server: Any, on_commit: Any) -> dict[str, Any]:
    session: dict[str, Any] = {}
    guest_pickup.guest_session_bind(session, package)
    code = code_requested(package, smtp_server, on_commit)
    guest_pickup.guest_code_verify(session=session, package=package, code=code)
    return session


class TestCode:
    def test_the_code_goes_to_the_recipient_and_is_stored_only_hashed(
        self, opened: GuestPackage, smtp_server: Any, django_capture_on_commit_callbacks: Any
    ) -> None:
        code = code_requested(opened, smtp_server, django_capture_on_commit_callbacks)
        opened.refresh_from_db()
        assert smtp_server.messages[-1]["X-Envelope-To"] == RECIPIENT_EMAIL
        assert code not in opened.code_hash and len(opened.code_hash) == 64

    def test_the_right_code_opens_the_package_in_this_session_only(
        self, opened: GuestPackage, smtp_server: Any, django_capture_on_commit_callbacks: Any
    ) -> None:
        session = verified(opened, smtp_server, django_capture_on_commit_callbacks)
        found = guest_pickup.guest_package_for(session=session, browser_key="browser-one")
        assert found.pk == opened.pk and found.verified_at is not None
        with pytest.raises(MessagingError) as refused:
            guest_pickup.guest_package_for(
                session={guests.SESSION_PACKAGE: str(opened.pk)}, browser_key="browser-one"
            )
        assert refused.value.code == "unverified"

    def test_five_wrong_codes_lock_the_link_for_good(
        self, opened: GuestPackage, smtp_server: Any, django_capture_on_commit_callbacks: Any
    ) -> None:
        code = code_requested(opened, smtp_server, django_capture_on_commit_callbacks)
        wrong = "000000" if code != "000000" else "111111"
        for _ in range(4):
            with pytest.raises(guests.GuestCodeRefused):
                guest_pickup.guest_code_verify(session={}, package=opened, code=wrong)
        with pytest.raises(guests.GuestRefused) as fifth:
            guest_pickup.guest_code_verify(session={}, package=opened, code=wrong)
        with pytest.raises(guests.GuestRefused) as sixth:
            guest_pickup.guest_code_verify(session={}, package=opened, code=code)
        assert fifth.value.code == sixth.value.code == "locked"
        assert AuditEvent.objects.filter(action="messaging.guest_locked").count() == 1

    def test_wrong_codes_count_across_new_codes(
        self, opened: GuestPackage, smtp_server: Any, django_capture_on_commit_callbacks: Any
    ) -> None:
        code_requested(opened, smtp_server, django_capture_on_commit_callbacks)
        for _ in range(3):
            with pytest.raises(guests.GuestCodeRefused):
                guest_pickup.guest_code_verify(session={}, package=opened, code="000000")
        with time_machine.travel(timezone.now() + timedelta(seconds=61)):
            code_requested(opened, smtp_server, django_capture_on_commit_callbacks)
            with pytest.raises(guests.GuestCodeRefused) as fourth:
                guest_pickup.guest_code_verify(session={}, package=opened, code="000000")
        assert fourth.value.attempts_left == 1

    def test_a_code_expires_after_ten_minutes(
        self, opened: GuestPackage, smtp_server: Any, django_capture_on_commit_callbacks: Any
    ) -> None:
        code = code_requested(opened, smtp_server, django_capture_on_commit_callbacks)
        with (
            time_machine.travel(timezone.now() + timedelta(minutes=10, seconds=1)),
            pytest.raises(guests.GuestCodeRefused) as refused,
        ):
            guest_pickup.guest_code_verify(session={}, package=opened, code=code)
        assert refused.value.code == "code_expired"

    def test_a_code_works_once(
        self, opened: GuestPackage, smtp_server: Any, django_capture_on_commit_callbacks: Any
    ) -> None:
        code = code_requested(opened, smtp_server, django_capture_on_commit_callbacks)
        guest_pickup.guest_code_verify(session={}, package=opened, code=code)
        with pytest.raises(guests.GuestCodeRefused):
            guest_pickup.guest_code_verify(session={}, package=opened, code=code)

    def test_a_code_is_sent_at_most_once_a_minute(
        self, opened: GuestPackage, smtp_server: Any, django_capture_on_commit_callbacks: Any
    ) -> None:
        code_requested(opened, smtp_server, django_capture_on_commit_callbacks)
        with pytest.raises(MessagingError) as refused:
            guest_pickup.guest_code_request(package=opened)
        assert refused.value.code == "too_soon"
        assert len(smtp_server.messages) == 2  # the link, one code


class TestAccessEnds:
    def test_a_recall_ends_access_of_a_verified_session(
        self,
        personas: Any,
        opened: GuestPackage,
        smtp_server: Any,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        session = verified(opened, smtp_server, django_capture_on_commit_callbacks)
        guests.guest_package_recall(actor=personas.clinician, package=opened)
        with pytest.raises(guests.GuestRefused) as refused:
            guest_pickup.guest_package_for(session=session, browser_key="browser-one")
        assert refused.value.code == "recalled"

    def test_a_revocation_ends_access_of_a_verified_session(
        self,
        personas: Any,
        authorized: Any,
        opened: GuestPackage,
        smtp_server: Any,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        session = verified(opened, smtp_server, django_capture_on_commit_callbacks)
        consent_services.authorization_revoke(
            actor=personas.patient, authorization=authorized, source="portal"
        )
        with pytest.raises(guests.GuestRefused) as refused:
            guest_pickup.guest_package_for(session=session, browser_key="browser-one")
        assert refused.value.code == "revoked"

    def test_only_the_sender_or_the_privacy_officer_may_recall(
        self, personas: Any, opened: GuestPackage
    ) -> None:
        with pytest.raises(MessagingError):
            guests.guest_package_recall(actor=personas.records_clerk, package=opened)
        guests.guest_package_recall(actor=personas.privacy_officer, package=opened)
        opened.refresh_from_db()
        assert opened.recalled_by_id == personas.privacy_officer.pk


class TestSubjectGuard:
    def test_an_ssn_like_subject_is_refused_and_nothing_is_stored(
        self, personas: Any, authorized: Any
    ) -> None:
        with pytest.raises(MessagingError) as refused:
            package_send(personas, subject="Results for 123-45-6789", warnings_acknowledged=True)
        assert refused.value.code == "subject_blocked"
        assert not GuestPackage.objects.exists() and not EncryptedFile.objects.exists()
        assert not Disclosure.objects.exists()
        event = AuditEvent.objects.get(action="messaging.send_refused")
        assert event.details == {"reason": "subject_ssn", "channel": "guest_package"}

    def test_a_warning_refuses_unless_acknowledged(self, personas: Any, authorized: Any) -> None:
        with pytest.raises(MessagingError) as refused:
            package_send(personas, subject="Your MRN and results")
        assert refused.value.code == "subject_warning"
        assert not GuestPackage.objects.exists()
        package_send(personas, subject="Your MRN and results", warnings_acknowledged=True)
        assert GuestPackage.objects.count() == 1


def _link_send_in_own_thread(package_id: str, results: list[bool]) -> None:
    from django.db import connection

    from messaging.tasks import guest_link_send

    try:
        results.append(guest_link_send(package_id))
    finally:
        connection.close()


class TestLinkDelivery:
    @pytest.mark.django_db(transaction=True)
    def test_a_second_task_during_a_slow_send_leaves_the_link_that_went_out_working(
        self, personas: Any, authorized: Any, smtp_server: Any
    ) -> None:
        from messaging.tasks import guest_link_send

        package = package_send(personas)
        # As if the first prompt had failed: the link is still to send, twice at once.
        GuestPackage.objects.update(link_sent_at=None, link_hash="")
        smtp_server.messages.clear()
        results: list[bool] = []
        second = threading.Thread(target=_link_send_in_own_thread, args=(str(package.pk), results))
        handle_data = smtp_server.collector.handle_DATA

        async def slow_first_mail(server: Any, session: Any, envelope: Any) -> str:
            if second.ident is None:  # while the first e-mail is in transit...
                second.start()  # ...the sweep's task runs
                await asyncio.sleep(1.5)
            return str(await handle_data(server, session, envelope))

        smtp_server.collector.handle_DATA = slow_first_mail
        assert guest_link_send(str(package.pk)) is True
        second.join(timeout=30)
        assert results == [False] and len(smtp_server.messages) == 1
        match = LINK.search(body_text(smtp_server.messages[0]))
        assert match is not None
        opened = guest_pickup.guest_link_open(token=match.group(1), browser_key="browser-one")
        assert opened.pk == package.pk

    def test_a_link_already_sent_is_not_sent_again(
        self,
        personas: Any,
        authorized: Any,
        smtp_server: Any,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        from messaging.tasks import guest_link_send

        token = package_sent_with_link(personas, smtp_server, django_capture_on_commit_callbacks)
        assert guest_link_send(str(GuestPackage.objects.get().pk)) is False
        assert len(smtp_server.messages) == 1
        assert guest_pickup.guest_link_open(token=token, browser_key="browser-one")
