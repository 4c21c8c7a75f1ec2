"""The patient's proxies on the staff patient page: listed with their state, recorded by
the records clerk or the privacy officer with the scanned authority, the scan's audited
download, ended by either, suspended by the privacy officer (45 CFR 164.502(g))."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from accounts import proxies
from accounts.actions import AccountsAction
from accounts.models import (
    PatientProfile,
    ProxyKind,
    ProxyLink,
    ProxyScope,
    Role,
    User,
)
from audit.models import AuditEvent
from tests.accounts.proxy_factories import link_made, make_proxy
from tests.conftest import body_text, page_query_count
from tests.encryption.pdfs import PDF_BYTES

pytestmark = pytest.mark.django_db

NEW_PROXY = "gwendolyn.guardian@mail.test"


def _page(client: Any, patient: Any) -> str:
    response = client.get(reverse("directory:patient", args=[patient.pk]))
    assert response.status_code == 200
    return response.content.decode()


def _form(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "full_name": "Gwendolyn Ashcombe",
        "email": NEW_PROXY,
        "kind": ProxyKind.GUARDIAN,
        "scopes": [ProxyScope.READ_MESSAGES, ProxyScope.REQUEST_RECORDS],
        "starts_on": timezone.localdate().isoformat(),
        "ends_on": "",
        "identity_method": "photo_id_in_person",
        "evidence_kind": "court_order",
        "evidence": SimpleUploadedFile("guardianship order.pdf", PDF_BYTES),
        "confirm": "on",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def _add(client: Any, patient: Any, **overrides: Any) -> Any:
    return client.post(reverse("directory:proxy_add", args=[patient.pk]), _form(**overrides))


def _link_url(name: str, link: ProxyLink) -> str:
    return reverse(name, args=[link.patient_id, link.pk])


@pytest.fixture
def link(personas: Any) -> ProxyLink:
    return link_made(
        proxy=make_proxy(),
        patient=personas.patient,
        by=personas.records_clerk,
        identity_method="photo_id_in_person",
        evidence_kind="court_order",
        verified_at=timezone.now(),
    )


class TestTheList:
    def test_it_shows_each_proxy_with_its_authority_scopes_and_verification(
        self, personas: Any, client_for: Any, link: ProxyLink
    ) -> None:
        text = _page(client_for(personas.records_clerk), personas.patient)
        assert "Parker Lindqvist" in text and "Legal guardian" in text
        assert "Read messages, Send messages, Request records" in text
        assert "Government photo ID, in person; Court order of guardianship" in text
        assert f"by {personas.records_clerk.full_name}" in text
        assert "In force" in text
        assert _link_url("directory:proxy_evidence", link) in text

    def test_it_names_every_state_a_link_can_be_in(self, personas: Any, client_for: Any) -> None:
        today, now, by = timezone.localdate(), timezone.now(), personas.records_clerk
        states: dict[str, dict[str, Any]] = {
            "Ended": {"revoked_at": now},
            "Suspended": {"suspended_at": now},
            "Not started yet": {"starts_on": today + timedelta(days=3)},
            "Past its end date": {
                "starts_on": today - timedelta(days=9),
                "ends_on": today - timedelta(days=1),
            },
        }
        for n, extra in enumerate(states.values()):
            link_made(proxy=make_proxy(f"p{n}@mail.test"), patient=personas.patient, by=by, **extra)
        # A parent's link of an adult: ended by age even before the daily job ran.
        link_made(
            proxy=make_proxy("parent@mail.test"), patient=personas.patient, by=by, kind="parent"
        )
        # Current, but the proxy's account is deactivated: it reaches nothing.
        idle = make_proxy("idle@mail.test")
        User.objects.filter(pk=idle.pk).update(is_active=False)
        link_made(proxy=idle, patient=personas.patient, by=by)
        text = _page(client_for(by), personas.patient)
        for label in [*states, "Ended by the patient&#x27;s age", "Reaches nothing today"]:
            assert label in text, label
        assert "In force" not in text

    def test_a_parents_link_shows_what_the_childs_age_leaves(
        self, personas: Any, client_for: Any
    ) -> None:
        thirteen_or_so = date(timezone.localdate().year - 14, 1, 1)  # 13 or 14 years old
        PatientProfile.objects.filter(user=personas.patient).update(date_of_birth=thirteen_or_so)
        link_made(
            proxy=make_proxy(), patient=personas.patient, by=personas.records_clerk, kind="parent"
        )
        text = _page(client_for(personas.records_clerk), personas.patient)
        assert "In force" in text
        assert "(today, by the patient's age: Read messages, Send messages)" in text

    def test_a_clinician_sees_the_proxies_but_not_the_scan_nor_the_actions(
        self, personas: Any, client_for: Any, link: ProxyLink
    ) -> None:
        text = _page(client_for(personas.clinician), personas.patient)
        assert "Parker Lindqvist" in text
        assert "Download the scan" not in text and "End the link" not in text
        assert reverse("directory:proxy_add", args=[personas.patient.pk]) not in text

    def test_the_clerk_ends_but_only_the_officer_suspends(
        self, personas: Any, client_for: Any, link: ProxyLink
    ) -> None:
        clerk = _page(client_for(personas.records_clerk), personas.patient)
        assert "End the link" in clerk and "Suspend the link" not in clerk
        officer = _page(client_for(personas.privacy_officer), personas.patient)
        assert "End the link" in officer and "Suspend the link" in officer

    def test_the_reason_for_a_suspension_is_the_officers_to_read(
        self, personas: Any, client_for: Any, link: ProxyLink
    ) -> None:
        client_for(personas.privacy_officer).post(
            _link_url("directory:proxy_suspend", link),
            {"reason": "Court hearing pending", "confirm": "on"},
        )
        assert "Court hearing pending" in _page(
            client_for(personas.privacy_officer), personas.patient
        )
        assert "Court hearing pending" not in _page(
            client_for(personas.records_clerk), personas.patient
        )

    def test_the_opening_counts_the_proxies_in_its_audit_event(
        self, personas: Any, client_for: Any, link: ProxyLink
    ) -> None:
        _page(client_for(personas.clinician), personas.patient)
        event = AuditEvent.objects.get(action="directory.patient_page_viewed")
        assert event.patient_id == personas.patient.pk
        assert event.details["proxies"] == 1

    def test_more_proxies_cost_no_more_queries(self, personas: Any, client_for: Any) -> None:
        client = client_for(personas.privacy_officer)
        url = reverse("directory:patient", args=[personas.patient.pk])
        by, now = personas.records_clerk, timezone.now()
        suspended: dict[str, Any] = {"suspended_at": now, "suspension_reason": "Concern"}
        link_made(proxy=make_proxy("a@mail.test"), patient=personas.patient, by=by, **suspended)
        one = page_query_count(client, url)
        for n in range(4):
            proxy = make_proxy(f"b{n}@mail.test")
            link_made(proxy=proxy, patient=personas.patient, by=by, **suspended)
        assert page_query_count(client, url) == one


class TestRecording:
    def test_the_form_is_the_records_clerks_and_the_officers(
        self, personas: Any, client_for: Any
    ) -> None:
        url = reverse("directory:proxy_add", args=[personas.patient.pk])
        assert client_for(personas.records_clerk).get(url).status_code == 200
        assert client_for(personas.privacy_officer).get(url).status_code == 200
        assert client_for(personas.clinician).get(url).status_code == 404
        assert client_for(make_proxy()).get(url).status_code == 404

    def test_a_guardian_is_recorded_and_invited_without_health_information(
        self,
        personas: Any,
        client_for: Any,
        smtp_server: Any,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            response = _add(client_for(personas.records_clerk), personas.patient)
        assert response.status_code == 302
        link = ProxyLink.objects.get(patient=personas.patient)
        assert (link.proxy.email, link.proxy.role) == (NEW_PROXY, Role.PROXY)
        assert (link.kind, link.scopes) == ("guardian", ["read_messages", "request_records"])
        assert link.verified_by == personas.records_clerk and link.evidence is not None
        (mail,) = smtp_server.messages
        assert mail["X-Envelope-To"] == NEW_PROXY
        everything = str(mail["Subject"]) + body_text(mail)
        for secret in ("Penelope", "Quartermaine", "MRN-555001", "guardian", "Ashcombe"):
            assert secret.lower() not in everything.lower(), secret

    def test_the_link_is_audited_against_the_patient(self, personas: Any, client_for: Any) -> None:
        _add(client_for(personas.privacy_officer), personas.patient)
        event = AuditEvent.objects.get(action=AccountsAction.PROXY_LINK_CREATED)
        assert (event.actor_id, event.patient_id) == (
            personas.privacy_officer.pk,
            personas.patient.pk,
        )

    def test_an_existing_proxy_account_is_linked_and_not_invited_again(
        self, personas: Any, client_for: Any, smtp_server: Any
    ) -> None:
        proxy = make_proxy()
        _add(client_for(personas.records_clerk), personas.patient, email=proxy.email.upper())
        assert ProxyLink.objects.get(patient=personas.patient).proxy == proxy
        assert not proxy.invitations.exists()

    def test_a_parent_of_a_minor_is_recorded(self, personas: Any, client_for: Any) -> None:
        PatientProfile.objects.filter(user=personas.patient).update(date_of_birth=date(2019, 5, 1))
        response = _add(
            client_for(personas.records_clerk),
            personas.patient,
            kind="parent",
            evidence_kind="birth_certificate",
        )
        assert response.status_code == 302
        assert ProxyLink.objects.get(patient=personas.patient).kind == "parent"


class TestRecordingRefusals:
    def _refused(self, client: Any, patient: Any, message: str, **overrides: Any) -> str:
        response = _add(client, patient, **overrides)
        text = response.content.decode()
        assert response.status_code == 400
        assert message in text
        assert not ProxyLink.objects.filter(patient=patient).exists()
        assert not User.objects.filter(email=NEW_PROXY).exists()  # no account left behind
        return text

    def test_no_scope(self, personas: Any, client_for: Any, smtp_server: Any) -> None:
        text = self._refused(
            client_for(personas.records_clerk),
            personas.patient,
            "Choose at least one thing the proxy may do.",
            scopes=[],
        )
        assert 'value="Gwendolyn Ashcombe"' in text and f'value="{NEW_PROXY}"' in text
        assert smtp_server.messages == []  # the invitation went with the rollback

    def test_an_end_before_the_start(self, personas: Any, client_for: Any) -> None:
        yesterday = (timezone.localdate() - timedelta(days=1)).isoformat()
        self._refused(
            client_for(personas.records_clerk),
            personas.patient,
            "The end date is before the start date.",
            ends_on=yesterday,
        )

    def test_a_parent_of_an_adult(self, personas: Any, client_for: Any) -> None:
        self._refused(
            client_for(personas.records_clerk),
            personas.patient,
            "The patient is not a minor under this organisation&#x27;s age rules.",
            kind="parent",
        )

    def test_the_address_of_a_staff_account(self, personas: Any, client_for: Any) -> None:
        response = _add(
            client_for(personas.records_clerk), personas.patient, email=personas.clinician.email
        )
        assert response.status_code == 400
        assert "belongs to another kind of account" in response.content.decode()
        assert not ProxyLink.objects.exists()
        assert User.objects.get(email=personas.clinician.email).role == Role.CLINICIAN

    def test_a_missing_scan(self, personas: Any, client_for: Any) -> None:
        self._refused(
            client_for(personas.records_clerk),
            personas.patient,
            "Missing: the scan of the document of authority.",
            evidence=None,
        )

    def test_a_file_that_is_not_a_scan(self, personas: Any, client_for: Any) -> None:
        self._refused(
            client_for(personas.records_clerk),
            personas.patient,
            "is not a PDF, PNG or JPEG scan",
            evidence=SimpleUploadedFile("notes.txt", b"just some words"),
        )

    def test_an_unconfirmed_check(self, personas: Any, client_for: Any) -> None:
        self._refused(
            client_for(personas.records_clerk),
            personas.patient,
            "Tick the box to confirm you verified both.",
            confirm=None,
        )

    def test_a_second_live_link_for_the_same_pair(
        self, personas: Any, client_for: Any, link: ProxyLink
    ) -> None:
        response = _add(
            client_for(personas.records_clerk), personas.patient, email=link.proxy.email
        )
        assert response.status_code == 400
        assert "already has a link to the patient" in response.content.decode()
        assert ProxyLink.objects.filter(patient=personas.patient).count() == 1


class TestEvidenceDownload:
    def test_the_clerk_downloads_the_scan_and_it_is_audited(
        self, personas: Any, client_for: Any, link: ProxyLink
    ) -> None:
        response = client_for(personas.records_clerk).get(
            _link_url("directory:proxy_evidence", link)
        )
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == b"%PDF-1.4 scanned order"
        assert response["Content-Disposition"].startswith("attachment")
        assert response["X-Content-Type-Options"] == "nosniff"
        event = AuditEvent.objects.get(action="directory.proxy_evidence_downloaded")
        assert (event.actor_id, event.patient_id) == (
            personas.records_clerk.pk,
            personas.patient.pk,
        )

    @pytest.mark.parametrize("who", ["clinician", "proxy", "patient"])
    def test_nobody_else_gets_it(
        self, personas: Any, client_for: Any, link: ProxyLink, who: str
    ) -> None:
        user = link.proxy if who == "proxy" else getattr(personas, who)
        url = _link_url("directory:proxy_evidence", link)
        assert client_for(user).get(url).status_code == 404
        assert not AuditEvent.objects.filter(action="directory.proxy_evidence_downloaded").exists()

    def test_a_link_is_reached_through_its_own_patient_only(
        self, personas: Any, client_for: Any, link: ProxyLink
    ) -> None:
        url = reverse("directory:proxy_evidence", args=[personas.other_patient.pk, link.pk])
        assert client_for(personas.records_clerk).get(url).status_code == 404


class TestEndingAndSuspending:
    def test_a_clinician_can_do_neither(
        self, personas: Any, client_for: Any, link: ProxyLink
    ) -> None:
        client = client_for(personas.clinician)
        for name in ("directory:proxy_revoke", "directory:proxy_suspend"):
            answer = client.post(_link_url(name, link), {"reason": "x", "confirm": "on"})
            assert answer.status_code == 404
        link.refresh_from_db()
        assert link.revoked_at is None and link.suspended_at is None

    def test_the_clerk_ends_a_link_once_confirmed(
        self, personas: Any, client_for: Any, link: ProxyLink
    ) -> None:
        client = client_for(personas.records_clerk)
        client.post(_link_url("directory:proxy_revoke", link))
        link.refresh_from_db()
        assert link.revoked_at is None
        client.post(_link_url("directory:proxy_revoke", link), {"confirm": "on"})
        link.refresh_from_db()
        assert link.revoked_by == personas.records_clerk
        assert proxies.acting_for(link.proxy, personas.patient.pk) is None
        event = AuditEvent.objects.get(action=AccountsAction.PROXY_LINK_REVOKED)
        assert event.patient_id == personas.patient.pk

    def test_the_clerk_cannot_suspend(
        self, personas: Any, client_for: Any, link: ProxyLink
    ) -> None:
        answer = client_for(personas.records_clerk).post(
            _link_url("directory:proxy_suspend", link), {"reason": "Concern", "confirm": "on"}
        )
        assert answer.status_code == 404
        link.refresh_from_db()
        assert link.suspended_at is None

    def test_the_officer_suspends_with_a_reason_at_once(
        self, personas: Any, client_for: Any, link: ProxyLink
    ) -> None:
        client = client_for(personas.privacy_officer)
        url = _link_url("directory:proxy_suspend", link)
        client.post(url, {"reason": "", "confirm": "on"})
        client.post(url, {"reason": "Reported concern"})  # not confirmed
        link.refresh_from_db()
        assert link.suspended_at is None
        answer = client.post(url, {"reason": "Reported concern", "confirm": "on"}, follow=True)
        assert "The link is suspended" in answer.content.decode()
        link.refresh_from_db()
        assert link.suspended_by == personas.privacy_officer
        assert link.suspension_reason == "Reported concern"
        assert proxies.acting_for(link.proxy, personas.patient.pk) is None
        event = AuditEvent.objects.get(action=AccountsAction.PROXY_LINK_SUSPENDED)
        assert "Reported" not in str(event.details)

    def test_the_officer_ends_a_link_too(
        self, personas: Any, client_for: Any, link: ProxyLink
    ) -> None:
        client_for(personas.privacy_officer).post(
            _link_url("directory:proxy_revoke", link), {"confirm": "on"}
        )
        link.refresh_from_db()
        assert link.revoked_by == personas.privacy_officer

    def test_a_link_of_another_patient_is_404(
        self, personas: Any, client_for: Any, link: ProxyLink
    ) -> None:
        url = reverse("directory:proxy_revoke", args=[personas.other_patient.pk, link.pk])
        assert client_for(personas.records_clerk).post(url, {"confirm": "on"}).status_code == 404


class TestTheProxysAccount:
    def test_a_proxy_without_a_password_is_sent_a_new_invitation(
        self,
        personas: Any,
        client_for: Any,
        smtp_server: Any,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            _add(client_for(personas.records_clerk), personas.patient)
        link = ProxyLink.objects.get(patient=personas.patient)
        text = _page(client_for(personas.records_clerk), personas.patient)
        assert "invited: no password set yet" in text and "Send the proxy a new invitation" in text
        with django_capture_on_commit_callbacks(execute=True):
            client_for(personas.records_clerk).post(_link_url("directory:proxy_reinvite", link))
        assert [m["X-Envelope-To"] for m in smtp_server.messages] == [NEW_PROXY, NEW_PROXY]
        assert link.proxy.invitations.filter(revoked_at__isnull=True).count() == 1

    def test_a_proxy_who_lost_their_factor_is_sent_a_recovery_link_after_the_check(
        self, personas: Any, client_for: Any, link: ProxyLink, smtp_server: Any
    ) -> None:
        client = client_for(personas.records_clerk)
        assert "send a recovery link" in _page(client, personas.patient)
        url = _link_url("directory:proxy_recover", link)
        client.post(url, {"identity_method": "photo_id_in_person"})  # not confirmed
        assert not link.proxy.recoveries.exists()
        client.post(url, {"identity_method": "photo_id_in_person", "confirm": "on"})
        assert link.proxy.recoveries.get().verified_by == personas.records_clerk

    def test_a_clinician_looks_after_no_proxy_account(
        self, personas: Any, client_for: Any, link: ProxyLink
    ) -> None:
        client = client_for(personas.clinician)
        data = {"identity_method": "photo_id_in_person", "confirm": "on"}
        for name in ("directory:proxy_reinvite", "directory:proxy_recover"):
            assert client.post(_link_url(name, link), data).status_code == 404
        assert not link.proxy.recoveries.exists()
