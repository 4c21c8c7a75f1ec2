"""Staff screens through HTTP: search, composer, inbox, thread, downloads, templates."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from audit.models import AuditEvent
from messaging import delivery_settings, services
from messaging.models import MIB, Message, MessageState, MessageTemplate, Thread
from tests.conftest import page_query_count
from tests.messaging.factories import PDF_BYTES, message_sent

pytestmark = pytest.mark.django_db
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def compose_url(patient: Any) -> str:
    return reverse("messaging:compose", args=[patient.pk])


def form_data(**overrides: Any) -> dict[str, Any]:
    data = {
        "send_key": str(uuid.uuid4()),
        "subject": "Your appointment",
        "category": "clinical",
        "body": "See you **Tuesday**.",
        "send": "1",
    }
    data.update(overrides)
    return data


class TestPatientSearch:
    def search(self, client: Any, q: str) -> str:
        response = client.post(reverse("messaging:compose_start"), {"q": q})
        return response.content.decode()

    def test_it_finds_by_mrn_name_and_date_of_birth(self, personas: Any, client_for: Any) -> None:
        client = client_for(personas.clinician)
        for query in ("MRN-555001", "quartermaine", "1980-01-02"):
            assert "Penelope Quartermaine" in self.search(client, query)

    def test_a_clinician_finds_only_their_care_teams_patients(
        self, personas: Any, client_for: Any
    ) -> None:
        assert "Ulrich" not in self.search(client_for(personas.clinician), "MRN-555002")
        assert "Ulrich" in self.search(client_for(personas.records_clerk), "MRN-555002")

    def test_a_search_in_the_url_is_not_run(self, personas: Any, client_for: Any) -> None:
        page = client_for(personas.clinician).get(
            reverse("messaging:compose_start"), {"q": "MRN-555001"}
        )
        assert "Penelope" not in page.content.decode()
        assert not AuditEvent.objects.filter(action="messaging.patient_searched").exists()

    def test_a_search_is_audited_without_the_query(self, personas: Any, client_for: Any) -> None:
        self.search(client_for(personas.clinician), "quartermaine")
        event = AuditEvent.objects.get(action="messaging.patient_searched")
        assert event.details == {"results": 1}


class TestComposeView:
    def test_sending_with_an_attachment_lands_in_the_thread(
        self, personas: Any, client_for: Any, django_capture_on_commit_callbacks: Any
    ) -> None:
        upload = SimpleUploadedFile("results.pdf", PDF_BYTES, content_type="application/x-evil")
        with django_capture_on_commit_callbacks(execute=False):
            response = client_for(personas.clinician).post(
                compose_url(personas.patient), form_data(attachments=upload)
            )
        thread = Thread.objects.get()
        assert response["Location"] == reverse("messaging:thread", args=[thread.pk])
        attachment = Message.objects.get().attachments.select_related("file").get()
        assert attachment.file.content_type == "application/pdf"  # sniffed, not claimed

    def test_a_full_file_store_answers_a_clear_503_and_sends_nothing(
        self, personas: Any, client_for: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Found by the soak battery (issue 23): a full disk answered with a server error."""
        from django.core.files.storage import FileSystemStorage

        from tests.encryption.conftest import disk_full_after

        monkeypatch.setattr(FileSystemStorage, "_save", disk_full_after(16))
        upload = SimpleUploadedFile("results.pdf", PDF_BYTES)
        response = client_for(personas.clinician).post(
            compose_url(personas.patient), form_data(attachments=upload)
        )
        assert response.status_code == 503
        assert response["Retry-After"] == "300"
        assert "Nothing was sent or saved" in response.content.decode()
        assert not Message.objects.exists()

    def test_a_double_submit_sends_once(self, personas: Any, client_for: Any) -> None:
        client, data = client_for(personas.clinician), form_data()
        first = client.post(compose_url(personas.patient), data)
        second = client.post(compose_url(personas.patient), data)
        assert first["Location"] == second["Location"]
        assert Message.objects.filter(state=MessageState.SENT).count() == 1

    def test_a_file_one_byte_over_the_limit_is_refused_and_the_text_kept(
        self, personas: Any, client_for: Any, settings: Any
    ) -> None:
        settings.MESSAGING_MAX_FILE_BYTES = 1024
        upload = SimpleUploadedFile("big.txt", b"a" * 1025)
        response = client_for(personas.clinician).post(
            compose_url(personas.patient), form_data(attachments=upload, body="Keep me")
        )
        assert response.status_code == 200
        assert "“big.txt” is larger than the 1 KiB limit." in response.content.decode()
        assert "Keep me" in response.content.decode()
        assert not Message.objects.exists()

    def test_the_message_total_limit_is_enforced(
        self, personas: Any, client_for: Any, settings: Any
    ) -> None:
        settings.MESSAGING_MAX_MESSAGE_BYTES = 1500
        files = [SimpleUploadedFile(f"p{i}.txt", b"a" * 1000) for i in range(2)]
        response = client_for(personas.clinician).post(
            compose_url(personas.patient), form_data(attachments=files)
        )
        assert "together are larger" in response.content.decode()
        assert not Message.objects.exists()

    @pytest.mark.parametrize(
        ("name", "data", "reason"),
        [
            ("setup.pdf", b"MZ\x90\x00" + b"\x00" * 60, "not a file type we accept"),
            ("empty.pdf", b"", "is empty"),
        ],
    )
    def test_bad_files_are_refused_with_the_reason(
        self, personas: Any, client_for: Any, name: str, data: bytes, reason: str
    ) -> None:
        upload = SimpleUploadedFile(name, data)
        response = client_for(personas.clinician).post(
            compose_url(personas.patient), form_data(attachments=upload)
        )
        assert reason in response.content.decode()
        assert not Message.objects.exists()

    def test_an_ssn_subject_is_blocked_with_the_reason(
        self, personas: Any, client_for: Any
    ) -> None:
        response = client_for(personas.clinician).post(
            compose_url(personas.patient), form_data(subject="SSN 123-45-6789")
        )
        assert "looks like a Social Security number" in response.content.decode()
        assert not Message.objects.exists()

    def test_a_warning_is_shown_then_sent_when_acknowledged(
        self, personas: Any, client_for: Any
    ) -> None:
        client, data = client_for(personas.clinician), form_data(subject="Call (555) 123-4567")
        response = client.post(compose_url(personas.patient), data)
        assert "looks like a phone number" in response.content.decode()
        assert not Message.objects.exists()
        response = client.post(compose_url(personas.patient), {**data, "acknowledge": "on"})
        assert response.status_code == 302 and Message.objects.count() == 1

    def test_save_draft_then_reopen_it(self, personas: Any, client_for: Any) -> None:
        client = client_for(personas.clinician)
        data = form_data(body="Half written")
        data.pop("send")
        response = client.post(compose_url(personas.patient), {**data, "save": "1"})
        draft = Message.objects.get()
        assert response["Location"] == reverse("messaging:draft", args=[draft.pk])
        page = client.get(response["Location"]).content.decode()
        assert "Half written" in page and data["send_key"] in page

    def test_sensitive_kinds_are_kept_with_the_draft_and_decide_the_method(
        self, personas: Any, client_for: Any
    ) -> None:
        delivery_settings.delivery_policy_update(
            actor=personas.privacy_officer,
            values=delivery_settings.PolicyValues(
                tls_email=True,
                protected_pdf=False,
                plain_email=False,
                email_max_bytes=10 * MIB,
                restricted_categories=frozenset({"psychotherapy_notes"}),
                third_party_tls=False,
            ),
        )
        delivery_settings.delivery_preference_set(
            actor=personas.patient, patient=personas.patient, method="tls_email"
        )
        client = client_for(personas.clinician)
        page = client.get(compose_url(personas.patient)).content.decode()
        assert "Kept off e-mail here: Psychotherapy notes." in page
        assert "Will be delivered by <strong>TLS-verified e-mail</strong>" in page
        data = form_data(sensitive=["psychotherapy_notes"])
        data.pop("send")
        response = client.post(compose_url(personas.patient), {**data, "save": "1"})
        assert Message.objects.get().content_categories == ["psychotherapy_notes"]
        page = client.get(response["Location"]).content.decode()
        assert re.search(r'value="psychotherapy_notes"[^>]*checked', page)
        assert "includes psychotherapy notes, which never leave by e-mail" in page

    def test_an_unknown_sensitive_kind_is_refused_and_the_text_kept(
        self, personas: Any, client_for: Any
    ) -> None:
        response = client_for(personas.clinician).post(
            compose_url(personas.patient), form_data(sensitive=["gossip"], body="Keep me")
        )
        page = response.content.decode()
        assert response.status_code == 200 and "Keep me" in page
        assert "Select a valid choice" in page and not Message.objects.exists()

    def test_someone_elses_draft_is_404(self, personas: Any, client_for: Any) -> None:
        draft = message_sent(author=personas.clinician, patient=personas.patient, send=False)
        response = client_for(personas.records_clerk).get(
            reverse("messaging:draft", args=[draft.pk])
        )
        assert response.status_code == 404

    def test_a_template_prefills_the_composer(self, personas: Any, client_for: Any) -> None:
        template = MessageTemplate.objects.create(
            title="Flu",
            subject="Flu clinic",
            body="Walk-ins welcome",
            created_by=personas.clinician,
        )
        page = client_for(personas.clinician).get(
            compose_url(personas.patient), {"template": template.pk}
        )
        assert "Walk-ins welcome" in page.content.decode()


class TestHostileInputIsInert:
    def test_subject_body_and_file_name_are_escaped_on_the_thread_page(
        self, personas: Any, client_for: Any
    ) -> None:
        message = message_sent(
            author=personas.clinician,
            patient=personas.patient,
            subject=XSS,
            body=XSS + " [link](javascript:alert(1))",
            files=[(XSS + ".txt", b"hello")],
        )
        html = client_for(personas.clinician).get(
            reverse("messaging:thread", args=[message.thread_id])
        )
        content = html.content.decode()
        assert "<script>alert" not in content and "<img src=x" not in content
        assert 'href="javascript:' not in content
        assert "&lt;script&gt;" in content

    def test_the_inbox_escapes_the_subject(self, personas: Any, client_for: Any) -> None:
        message_sent(author=personas.clinician, patient=personas.patient, subject=XSS)
        content = client_for(personas.clinician).get(reverse("messaging:inbox")).content.decode()
        assert "<script>alert" not in content and "&lt;script&gt;" in content

    def test_a_template_body_is_rendered_inert(self, personas: Any, client_for: Any) -> None:
        template = MessageTemplate.objects.create(
            title=XSS, subject=XSS, body=XSS, created_by=personas.clinician
        )
        content = (
            client_for(personas.clinician)
            .get(reverse("messaging:template_edit", args=[template.pk]))
            .content.decode()
        )
        assert "<script>alert" not in content and "<img src=x" not in content


class TestInbox:
    def test_the_query_count_does_not_grow_with_the_threads(
        self, personas: Any, client_for: Any
    ) -> None:
        client = client_for(personas.clinician)

        message_sent(author=personas.clinician, patient=personas.patient, files=[])
        few = page_query_count(client, reverse("messaging:inbox"))
        for _ in range(8):
            message_sent(author=personas.clinician, patient=personas.patient, files=[])
        assert page_query_count(client, reverse("messaging:inbox")) == few

    def test_a_patient_reply_shows_as_unread_until_the_thread_is_opened(
        self, personas: Any, client_for: Any
    ) -> None:
        message = message_sent(author=personas.clinician, patient=personas.patient)
        services.reply_send(
            actor=personas.patient, thread=message.thread, body="Thanks", send_key=uuid.uuid4()
        )
        client = client_for(personas.clinician)
        assert "1 unread" in client.get(reverse("messaging:inbox")).content.decode()
        client.get(reverse("messaging:thread", args=[message.thread_id]))
        assert "1 unread" not in client.get(reverse("messaging:inbox")).content.decode()

    def test_a_clinician_does_not_see_other_care_teams_threads(
        self, personas: Any, client_for: Any
    ) -> None:
        message = message_sent(
            author=personas.records_clerk, patient=personas.other_patient, subject="Elsewhere"
        )
        client = client_for(personas.clinician)
        assert "Elsewhere" not in client.get(reverse("messaging:inbox")).content.decode()
        thread_url = reverse("messaging:thread", args=[message.thread_id])
        assert client.get(thread_url).status_code == 404


class TestThreadPage:
    def test_opening_is_audited_for_the_patient(self, personas: Any, client_for: Any) -> None:
        message = message_sent(author=personas.clinician, patient=personas.patient)
        client_for(personas.clinician).get(reverse("messaging:thread", args=[message.thread_id]))
        event = AuditEvent.objects.get(action="messaging.thread_viewed")
        assert event.patient_id == personas.patient.pk

    def test_read_receipts_come_from_the_audit_log(self, personas: Any, client_for: Any) -> None:
        message = message_sent(author=personas.clinician, patient=personas.patient)
        attachment = message.attachments.get()
        url = reverse("messaging:thread", args=[message.thread_id])
        client = client_for(personas.clinician)
        assert "Not opened yet." in client.get(url).content.decode()
        services.message_open(actor=personas.patient, message=message)
        services.attachment_download_record(
            actor=personas.patient, attachment=attachment, patient_id=personas.patient.pk
        )
        page = client.get(url).content.decode()
        assert "Opened by the patient" in page and "downloaded by the patient" in page

    def test_an_opening_whose_opener_is_not_known_names_no_one(
        self, personas: Any, client_for: Any
    ) -> None:
        message = message_sent(author=personas.clinician, patient=personas.patient)
        services.message_open(actor=personas.patient, message=message)
        Message.objects.filter(pk=message.pk).update(opened_by=None)  # kept before 0013
        url = reverse("messaging:thread", args=[message.thread_id])
        page = client_for(personas.clinician).get(url).content.decode()
        assert re.search(r"Opened \d{1,2} \w{3} \d{4}, \d\d:\d\d\.", page)
        assert "Opened by" not in page

    def test_the_sender_recalls_from_the_thread_page(self, personas: Any, client_for: Any) -> None:
        message = message_sent(author=personas.clinician, patient=personas.patient)
        client = client_for(personas.clinician)
        client.post(reverse("messaging:recall", args=[message.pk]), {"confirm": "on"})
        page = client.get(reverse("messaging:thread", args=[message.thread_id])).content.decode()
        assert "Recalled on" in page

    def test_a_recall_without_the_confirmation_box_changes_nothing(
        self, personas: Any, client_for: Any
    ) -> None:
        message = message_sent(author=personas.clinician, patient=personas.patient)
        response = client_for(personas.clinician).post(
            reverse("messaging:recall", args=[message.pk]), follow=True
        )
        assert "Nothing was recalled. Tick the box to confirm the recall." in (
            response.content.decode()
        )
        assert 'name="confirm" required' in response.content.decode()
        message.refresh_from_db()
        assert message.state == MessageState.SENT and message.recalled_at is None

    def test_recall_after_opening_explains_why_not(self, personas: Any, client_for: Any) -> None:
        message = message_sent(author=personas.clinician, patient=personas.patient)
        services.message_open(actor=personas.patient, message=message)
        response = client_for(personas.clinician).post(
            reverse("messaging:recall", args=[message.pk]), {"confirm": "on"}, follow=True
        )
        assert "already opened" in response.content.decode()

    def test_the_attachment_downloads_as_uploaded_and_is_audited(
        self, personas: Any, client_for: Any
    ) -> None:
        message = message_sent(author=personas.clinician, patient=personas.patient)
        attachment = message.attachments.get()
        response = client_for(personas.privacy_officer).get(
            reverse("messaging:attachment", args=[attachment.pk])
        )
        assert b"".join(response.streaming_content) == PDF_BYTES
        assert response["Content-Disposition"].startswith("attachment")
        assert response["X-Content-Type-Options"] == "nosniff"
        assert AuditEvent.objects.filter(
            action="messaging.attachment_downloaded", target_id=str(attachment.pk)
        ).exists()

    def test_a_malformed_id_is_404(self, personas: Any, client_for: Any) -> None:
        client = client_for(personas.clinician)
        assert client.get(reverse("messaging:thread", args=["not-a-uuid"])).status_code == 404
        assert client.get(reverse("messaging:attachment", args=["nope"])).status_code == 404

    def test_a_staff_reply_goes_into_the_thread(self, personas: Any, client_for: Any) -> None:
        message = message_sent(author=personas.clinician, patient=personas.patient)
        client_for(personas.clinician).post(
            reverse("messaging:thread_reply", args=[message.thread_id]),
            {"send_key": str(uuid.uuid4()), "body": "One more thing"},
        )
        assert message.thread.messages.filter(state=MessageState.SENT).count() == 2

    def test_a_staff_reply_keeps_its_sensitive_kinds(self, personas: Any, client_for: Any) -> None:
        message = message_sent(author=personas.clinician, patient=personas.patient)
        client = client_for(personas.clinician)
        page = client.get(reverse("messaging:thread", args=[message.thread_id])).content.decode()
        assert "Sensitive content (optional)" in page
        assert "Kept off e-mail here: Psychotherapy notes" in page  # the default policy
        client.post(
            reverse("messaging:thread_reply", args=[message.thread_id]),
            {"send_key": str(uuid.uuid4()), "body": "Notes", "sensitive": ["psychotherapy_notes"]},
        )
        reply = message.thread.messages.exclude(pk=message.pk).get()
        assert reply.content_categories == ["psychotherapy_notes"]

    def test_assigning_to_someone_who_cannot_see_the_thread_is_refused(
        self, personas: Any, client_for: Any
    ) -> None:
        from accounts.models import Role
        from tests.conftest import make_user

        stranger = make_user("sam.stranger@clinic.test", "Samuel Stranger", Role.CLINICIAN)
        message = message_sent(author=personas.clinician, patient=personas.patient)
        client_for(personas.clinician).post(
            reverse("messaging:thread_assign", args=[message.thread_id]),
            {"assignee": stranger.pk},
        )
        assert Thread.objects.get().assigned_to is None

    def test_the_assign_menu_lists_exactly_who_can_see_the_thread(
        self, personas: Any, client_for: Any
    ) -> None:
        from accounts.models import Role
        from tests.conftest import make_user

        make_user("sam.stranger@clinic.test", "Samuel Stranger", Role.CLINICIAN)
        make_user("ivy.inactive@clinic.test", "Ivy Inactive", Role.RECORDS_CLERK, is_active=False)
        message = message_sent(author=personas.clinician, patient=personas.patient)
        text = (
            client_for(personas.clinician)
            .get(reverse("messaging:thread", args=[message.thread_id]))
            .content.decode()
        )
        menu = text[text.index('<select name="assignee"') : text.index("</select>")]
        named = re.findall(r'<option value="(\d+)">([^<]+)</option>', menu)
        people = (personas.clinician, personas.records_clerk, personas.privacy_officer)
        expected = sorted((str(p.pk), p.full_name) for p in people)
        assert sorted(named) == expected

    def test_assign_and_mark_handled(self, personas: Any, client_for: Any) -> None:
        message = message_sent(author=personas.clinician, patient=personas.patient)
        client = client_for(personas.clinician)
        client.post(
            reverse("messaging:thread_assign", args=[message.thread_id]),
            {"assignee": personas.records_clerk.pk},
        )
        client.post(reverse("messaging:thread_handled", args=[message.thread_id]), {"handled": "1"})
        thread = Thread.objects.get()
        assert thread.assigned_to == personas.records_clerk and thread.handled_at is not None


class TestUploadsOnlyWhereExpected:
    def _handler(self, path: str, user: Any, verified: bool = True) -> Any:
        from django.test import RequestFactory
        from django.urls import resolve

        from encryption.uploads import LimitedMemoryUploadHandler

        request = RequestFactory().post(path)
        request.resolver_match = resolve(path)
        user.is_verified = lambda: verified
        request.user = user
        return LimitedMemoryUploadHandler(request)

    def test_files_posted_to_another_form_are_skipped_unread(self, personas: Any) -> None:
        from django.core.files.uploadhandler import SkipFile

        handler = self._handler(reverse("accounts:sign_in"), personas.clinician)
        with pytest.raises(SkipFile):
            handler.new_file("attachments", "x.pdf", "application/pdf", 10)

    def test_files_from_a_half_signed_in_session_are_skipped(self, personas: Any) -> None:
        from django.core.files.uploadhandler import SkipFile

        url = compose_url(personas.patient)
        with pytest.raises(SkipFile):
            self._handler(url, personas.clinician, verified=False).new_file(
                "attachments", "x.pdf", "application/pdf", 10
            )

    def test_files_posted_to_the_composer_are_kept(self, personas: Any) -> None:
        handler = self._handler(compose_url(personas.patient), personas.clinician)
        handler.new_file("attachments", "x.pdf", "application/pdf", 10)
        handler.receive_data_chunk(b"%PDF-1.4", 0)
        assert handler.file_complete(8).read() == b"%PDF-1.4"

    def test_a_third_upload_at_once_is_refused_and_the_slots_come_back(
        self, personas: Any, settings: Any
    ) -> None:
        settings.MESSAGING_MAX_CONCURRENT_UPLOADS = 2
        url = compose_url(personas.patient)
        first, second, third = (self._handler(url, personas.clinician) for _ in range(3))
        for handler in (first, second, third):
            handler.handle_raw_input(None, {}, 100, b"x", "utf-8")
        assert third.request.upload_refusals == [
            "Another upload of yours is still being received. Wait for it to finish, "
            "then send this one again."
        ]
        first.upload_complete()
        fourth = self._handler(url, personas.clinician)
        fourth.handle_raw_input(None, {}, 100, b"x", "utf-8")
        assert fourth.request.upload_refusals == []
        for handler in (second, fourth):
            handler.upload_complete()

    def test_another_account_has_its_own_slots(self, personas: Any, settings: Any) -> None:
        settings.MESSAGING_MAX_CONCURRENT_UPLOADS = 1
        busy = self._handler(compose_url(personas.patient), personas.clinician)
        busy.handle_raw_input(None, {}, 100, b"x", "utf-8")
        other = self._handler(compose_url(personas.patient), personas.privacy_officer)
        other.handle_raw_input(None, {}, 100, b"x", "utf-8")
        assert other.request.upload_refusals == []
        busy.upload_complete()
        other.upload_complete()

    def test_a_checked_upload_is_the_handlers_buffer_not_a_copy(self, personas: Any) -> None:
        from encryption.uploads import attachment_check, upload_buffer

        handler = self._handler(compose_url(personas.patient), personas.clinician)
        handler.new_file("attachments", "scan.pdf", "application/pdf", len(PDF_BYTES))
        handler.receive_data_chunk(PDF_BYTES, 0)
        upload = handler.file_complete(len(PDF_BYTES))
        checked = attachment_check(name="scan.pdf", data=upload_buffer(upload))
        assert checked.reader().read() == PDF_BYTES
        upload.file.seek(0, 2)
        with pytest.raises(BufferError):  # the check holds a view of this very buffer
            upload.file.write(b"more")


class TestRecordsClerkScope:
    def test_a_clerk_does_not_read_a_clinicians_thread(
        self, personas: Any, client_for: Any
    ) -> None:
        message = message_sent(author=personas.clinician, patient=personas.patient, subject="Labs")
        client = client_for(personas.records_clerk)
        assert client.get(reverse("messaging:thread", args=[message.thread_id])).status_code == 404
        assert "Labs" not in client.get(reverse("messaging:inbox")).content.decode()

    def test_a_clerk_reads_what_they_started_and_what_they_are_assigned(
        self, personas: Any, client_for: Any
    ) -> None:
        own = message_sent(author=personas.records_clerk, patient=personas.patient)
        other = message_sent(author=personas.clinician, patient=personas.patient)
        services.thread_assign(
            actor=personas.clinician, thread=other.thread, assignee=personas.records_clerk
        )
        client = client_for(personas.records_clerk)
        for message in (own, other):
            url = reverse("messaging:thread", args=[message.thread_id])
            assert client.get(url).status_code == 200


class TestEveryPatientDataViewIsAudited:
    def test_the_staff_inbox_records_which_threads_of_which_patient_it_showed(
        self, personas: Any, client_for: Any
    ) -> None:
        first = message_sent(author=personas.clinician, patient=personas.patient, files=[])
        second = message_sent(author=personas.clinician, patient=personas.patient, files=[])
        other = message_sent(author=personas.records_clerk, patient=personas.other_patient)
        client_for(personas.privacy_officer).get(reverse("messaging:inbox"))
        listed = AuditEvent.objects.filter(
            action="messaging.inbox_listed", actor_id=personas.privacy_officer.pk
        )
        threads = {e.patient_id: sorted(e.details["threads"]) for e in listed}
        assert threads == {
            personas.patient.pk: sorted([str(first.thread_id), str(second.thread_id)]),
            personas.other_patient.pk: [str(other.thread_id)],
        }

    def test_opening_the_composer_for_a_patient_is_audited(
        self, personas: Any, client_for: Any
    ) -> None:
        client_for(personas.clinician).get(compose_url(personas.patient))
        event = AuditEvent.objects.get(action="messaging.composer_opened")
        assert event.patient_id == personas.patient.pk

    def test_opening_a_draft_is_audited(self, personas: Any, client_for: Any) -> None:
        draft = message_sent(author=personas.clinician, patient=personas.patient, send=False)
        client_for(personas.clinician).get(reverse("messaging:draft", args=[draft.pk]))
        event = AuditEvent.objects.get(action="messaging.draft_opened")
        assert (event.target_id, event.patient_id) == (str(draft.pk), personas.patient.pk)
