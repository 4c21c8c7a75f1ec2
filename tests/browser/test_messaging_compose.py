"""A clinician writes to a patient in Chromium: find, compose, attach, send, and what can go wrong.

The notice e-mail goes to the loopback SMTP server of ``smtp_server``: Celery runs eagerly,
so it is sent in the live server's request, right after the send commits.
"""

from __future__ import annotations

import base64
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.signals import request_finished, request_started
from django.urls import reverse
from playwright.sync_api import expect

from messaging.models import Message, MessageState
from tests.browser.helpers import sign_in_with_totp
from tests.conftest import body_text
from tests.messaging.factories import PDF_BYTES

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# A real 1x1 PNG: the upload check decides the type from the first bytes.
PNG_BYTES = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)
IMG_XSS = "<img src=x onerror=alert(1)>"
SCRIPT_XSS = "<script>alert(1)</script>"
THREAD_URL = re.compile(r"/messages/threads/[^/]+/$")


def _open_composer(page: Any, patient: Any) -> None:
    page.goto(reverse("messaging:compose", args=[patient.pk]))
    page.get_by_role("heading", name=re.compile("^Secure message to ")).wait_for()


def _fill(page: Any, *, subject: str, body: str = "Please see the attached letter.") -> None:
    page.get_by_label("Subject", exact=True).fill(subject)
    page.get_by_label("Kind of message").select_option(label="Clinical")
    page.get_by_label("Message", exact=True).fill(body)


def _send(page: Any) -> None:
    page.get_by_role("button", name="Send securely").click()


def _sent_count() -> int:
    return Message.objects.filter(state=MessageState.SENT).count()


def _file(name: str, mime: str, data: bytes) -> dict[str, Any]:
    return {"name": name, "mimeType": mime, "buffer": data}


class TestSendingWithAttachments:
    SUBJECT = "Your glucose follow-up"
    BODY = (
        "Please **stop metformin** on *Thursday* before the fasting bloods.\n\n"
        "- bring the sugar diary\n"
        "- drink water only"
    )
    PDF_NAME, PNG_NAME = "lab-letter.pdf", "rash-photo.png"

    def _send_from_search(self, page: Any, personas: Any) -> None:
        patient = personas.patient
        sign_in_with_totp(page, personas.clinician)
        page.get_by_role("link", name="Messages", exact=True).click()
        page.get_by_role("link", name="New message").click()
        page.get_by_label("Find a patient").fill(patient.patient_profile.mrn)
        page.get_by_role("button", name="Search").click()
        page.get_by_role("link", name=patient.patient_profile.legal_name).click()
        _fill(page, subject=self.SUBJECT, body=self.BODY)
        page.get_by_label("Attachments").set_input_files(
            [
                _file(self.PDF_NAME, "application/pdf", PDF_BYTES),
                _file(self.PNG_NAME, "image/png", PNG_BYTES),
            ]
        )
        _send(page)
        page.wait_for_url(THREAD_URL)

    def test_the_thread_shows_the_subject_formatted_body_and_both_attachments(
        self, page: Any, personas: Any, smtp_server: Any
    ) -> None:
        self._send_from_search(page, personas)

        assert page.get_by_role("heading", level=1).inner_text() == self.SUBJECT
        body = page.locator(".message-item .body")
        assert body.locator("strong").inner_text() == "stop metformin"
        assert body.locator("em").inner_text() == "Thursday"
        assert body.locator("li").all_inner_texts() == ["bring the sugar diary", "drink water only"]
        assert "**" not in body.inner_text()
        links = page.locator("ul.attachments a").all_inner_texts()
        assert links == [self.PDF_NAME, self.PNG_NAME]
        page.get_by_text("Not opened yet.").wait_for()
        page.get_by_text(re.compile(r"E-mail notice: sent ")).wait_for()
        assert _sent_count() == 1

    def test_the_patient_gets_one_notice_without_anything_from_the_message(
        self, page: Any, personas: Any, smtp_server: Any
    ) -> None:
        self._send_from_search(page, personas)
        page.get_by_text(re.compile(r"E-mail notice: sent ")).wait_for()

        assert len(smtp_server.messages) == 1
        notice = smtp_server.messages[0]
        assert notice["X-Envelope-To"] == personas.patient.email
        parts = [
            str(notice["Subject"]),
            notice.get_body(("plain",)).get_content(),
            notice.get_body(("html",)).get_content(),
        ]
        for part in parts:
            assert settings.ORGANISATION_NAME in part
            assert "new secure message" in part.lower()
        everything = "\n".join([*map(str, notice.values()), body_text(notice)]).lower()
        forbidden = [
            self.SUBJECT,
            "glucose",
            "metformin",
            "thursday",
            "fasting",
            "diary",
            self.PDF_NAME,
            self.PNG_NAME,
            personas.clinician.full_name,
            "nakamura",
            personas.patient.full_name,
            "quartermaine",
            personas.patient.patient_profile.mrn,
        ]
        assert [word for word in forbidden if word.lower() in everything] == []

    def test_a_downloaded_attachment_has_the_uploaded_bytes(
        self, page: Any, personas: Any, smtp_server: Any
    ) -> None:
        self._send_from_search(page, personas)

        with page.expect_download() as download_info:
            page.get_by_role("link", name=self.PDF_NAME).click()
        download = download_info.value
        assert download.suggested_filename == self.PDF_NAME
        assert Path(download.path()).read_bytes() == PDF_BYTES


class TestMarkupInjection:
    SUBJECT = f"{SCRIPT_XSS} {IMG_XSS}"
    BODY = f"Before {SCRIPT_XSS} between {IMG_XSS} after"
    FILE_NAME = f"{IMG_XSS}.png"  # no "/": a name is cut at the last slash

    def _assert_inert(self, page: Any, dialogs: list[str]) -> None:
        assert page.locator("img[src='x']").count() == 0
        assert not page.evaluate(
            "() => [...document.scripts].some(s => s.textContent.includes('alert(1)'))"
        )
        assert dialogs == []

    def test_script_and_img_tags_show_as_text_on_the_thread_and_in_the_inbox(
        self, page: Any, personas: Any, smtp_server: Any
    ) -> None:
        dialogs: list[str] = []

        def record(dialog: Any) -> None:
            dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", record)
        sign_in_with_totp(page, personas.clinician)
        _open_composer(page, personas.patient)
        _fill(page, subject=self.SUBJECT, body=self.BODY)
        page.get_by_label("Attachments").set_input_files(
            [_file(self.FILE_NAME, "image/png", PNG_BYTES)]
        )
        _send(page)
        page.wait_for_url(THREAD_URL)

        page.wait_for_load_state("load")
        assert page.get_by_role("heading", level=1).inner_text() == self.SUBJECT
        assert page.locator(".message-item .body").inner_text() == self.BODY
        assert page.locator("ul.attachments a").inner_text() == self.FILE_NAME
        self._assert_inert(page, dialogs)

        page.get_by_role("link", name="Secure messages").click()
        page.get_by_role("link", name=self.SUBJECT, exact=True).wait_for()
        page.wait_for_load_state("load")
        self._assert_inert(page, dialogs)


class TestSubjectGuard:
    def test_an_ssn_like_subject_is_refused_and_nothing_is_sent(
        self, page: Any, personas: Any, smtp_server: Any
    ) -> None:
        sign_in_with_totp(page, personas.clinician)
        _open_composer(page, personas.patient)
        _fill(page, subject="Form for 123-45-6789")
        _send(page)

        summary = page.locator("[data-error-summary]")
        expect(summary).to_be_focused()
        summary.get_by_role(
            "link", name="The subject looks like a Social Security number."
        ).wait_for()
        assert Message.objects.count() == 0
        page.goto(reverse("messaging:inbox"))
        page.get_by_text("No conversations here.").wait_for()
        assert smtp_server.messages == []

    def test_a_phone_number_subject_is_sent_once_the_warning_is_acknowledged(
        self, page: Any, personas: Any, smtp_server: Any
    ) -> None:
        subject = "Please call 555-123-4567"
        sign_in_with_totp(page, personas.clinician)
        _open_composer(page, personas.patient)
        _fill(page, subject=subject)
        _send(page)

        page.get_by_role("alert").filter(
            has_text="The subject looks like a phone number."
        ).wait_for()
        assert _sent_count() == 0
        page.get_by_label("I have checked the subject and want to send it as it is.").check()
        _send(page)
        page.wait_for_url(THREAD_URL)
        assert page.get_by_role("heading", level=1).inner_text() == subject
        assert _sent_count() == 1
        assert len(smtp_server.messages) == 1


class _ComposerPosts:
    """The composer's POSTs as the live server (same process) receives them.

    The first is held until the second has arrived, so a double submit really puts two
    requests in flight at once instead of depending on how fast the browser cancels.
    """

    WAIT = 30.0

    def __init__(self, path: str) -> None:
        self.path = path
        self.started = 0
        self.finished = 0
        self._lock = threading.Lock()
        self._threads: set[int] = set()
        self.first_arrived = threading.Event()
        self.second_arrived = threading.Event()
        self.both_finished = threading.Event()

    def on_started(self, sender: Any, environ: dict[str, Any], **kwargs: Any) -> None:
        if environ.get("REQUEST_METHOD") != "POST" or environ.get("PATH_INFO") != self.path:
            return
        with self._lock:
            self.started += 1
            arrived = self.started
            self._threads.add(threading.get_ident())
        if arrived == 1:
            self.first_arrived.set()
            self.second_arrived.wait(self.WAIT)
        else:
            self.second_arrived.set()

    def on_finished(self, sender: Any, **kwargs: Any) -> None:
        with self._lock:
            if threading.get_ident() not in self._threads:
                return
            self._threads.discard(threading.get_ident())
            self.finished += 1
            if self.finished == 2:
                self.both_finished.set()


@pytest.fixture
def composer_posts(personas: Any) -> Iterator[_ComposerPosts]:
    posts = _ComposerPosts(reverse("messaging:compose", args=[personas.patient.pk]))
    request_started.connect(posts.on_started, weak=False, dispatch_uid="composer_posts")
    request_finished.connect(posts.on_finished, weak=False, dispatch_uid="composer_posts")
    yield posts
    posts.second_arrived.set()  # never leave a request thread waiting past the test
    request_started.disconnect(dispatch_uid="composer_posts")
    request_finished.disconnect(dispatch_uid="composer_posts")


def _click(cdp: Any, at: dict[str, float]) -> None:
    for kind in ("mousePressed", "mouseReleased"):
        cdp.send(
            "Input.dispatchMouseEvent", {"type": kind, **at, "button": "left", "clickCount": 1}
        )


class TestDoubleSubmit:
    def test_submitting_twice_sends_one_message_and_one_notice(
        self, page: Any, personas: Any, smtp_server: Any, composer_posts: _ComposerPosts
    ) -> None:
        sign_in_with_totp(page, personas.clinician)
        _open_composer(page, personas.patient)
        _fill(page, subject="Your appointment on the ward")
        page.get_by_label("Attachments").set_input_files(
            [_file("letter.pdf", "application/pdf", PDF_BYTES)]
        )
        send = page.get_by_role("button", name="Send securely")
        send.scroll_into_view_if_needed()
        box = send.bounding_box()
        assert box is not None
        # Clicks through CDP: Playwright's own actions wait for a pending navigation to end,
        # and the second click must land while the first submit is still in flight.
        cdp = page.context.new_cdp_session(page)
        at = {"x": box["x"] + box["width"] / 2, "y": box["y"] + box["height"] / 2}

        _click(cdp, at)
        assert composer_posts.first_arrived.wait(_ComposerPosts.WAIT)
        _click(cdp, at)  # the first request is still held by the server
        assert composer_posts.both_finished.wait(_ComposerPosts.WAIT)
        # The second submit aborts the first navigation in the browser (net::ERR_ABORTED),
        # so wait for where the page ends up rather than for one particular navigation.
        expect(page).to_have_url(THREAD_URL)

        assert composer_posts.started == 2
        assert _sent_count() == 1
        assert len(smtp_server.messages) == 1
        page.get_by_role("heading", name="Your appointment on the ward").wait_for()
        assert page.locator("ul.attachments a").all_inner_texts() == ["letter.pdf"]
