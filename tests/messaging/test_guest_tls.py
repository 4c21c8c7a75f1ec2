"""A third party's package by TLS-verified e-mail, when the delivery policy allows it.

The package itself goes over STARTTLS to the loopback relay (``EMAIL_TLS_RELAY``, with a
certificate from the run's CA); anything that stops it leaves today's pickup link, with
the reason logged and shown to the sender. Real PostgreSQL and real SMTP servers.
"""

from __future__ import annotations

import hashlib
from email import message_from_bytes, policy
from typing import Any

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from audit.policies import access_history_visible_to
from messaging import delivery_settings
from messaging.models import MIB, ContentCategory, DeliveryMethod, GuestPackage, Transmission
from messaging.models import TransmissionOutcome as Outcome
from tests.conftest import body_text
from tests.consent.factories import RECIPIENT_EMAIL, authorization_signed
from tests.messaging.factories import (
    BODY,
    LINK,
    PDF_BYTES,
    SUBJECT,
    attachment_check,
    package_send,
)
from tests.messaging.tls_servers import Leaf, Server

pytestmark = pytest.mark.django_db

NO_TLS_NOTE = "Sent as a pickup link: the recipient&#x27;s mail server does not offer verified TLS"


@pytest.fixture
def authorized(personas: Any) -> Any:
    return authorization_signed(patient=personas.patient)


def _policy(personas: Any, *, third_party_tls: bool = True, **changes: Any) -> None:
    values = {
        "tls_email": True,
        "protected_pdf": False,
        "plain_email": False,
        "email_max_bytes": 10 * MIB,
        "restricted_categories": frozenset(),
        "third_party_tls": third_party_tls,
        **changes,
    }
    delivery_settings.delivery_policy_update(
        actor=personas.privacy_officer, values=delivery_settings.PolicyValues(**values)
    )


def _sent(personas: Any, on_commit: Any, **overrides: Any) -> GuestPackage:
    with on_commit(execute=True):
        package = package_send(personas, **overrides)
    package.refresh_from_db()
    return package


def _links(smtp_server: Any) -> list[Any]:
    return [m for m in smtp_server.messages if LINK.search(body_text(m))]


def _packages_page(client_for: Any, personas: Any) -> str:
    url = reverse("messaging:guest_packages", args=[personas.patient.pk])
    return str(client_for(personas.clinician).get(url).content.decode())


class TestSentOverVerifiedTls:
    def test_the_package_crosses_the_wire_only_inside_tls(
        self,
        personas: Any,
        authorized: Any,
        tls_relay: Server,
        smtp_server: Any,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        _policy(personas)
        _sent(personas, django_capture_on_commit_callbacks)
        assert BODY.encode() in tls_relay.recorder.encrypted
        for secret in (BODY, SUBJECT, "thyroid.pdf", RECIPIENT_EMAIL):
            assert secret.encode() not in tls_relay.recorder.clear

    def test_the_recipient_gets_the_package_and_no_link(
        self,
        personas: Any,
        authorized: Any,
        tls_relay: Server,
        smtp_server: Any,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        _policy(personas)
        package = _sent(personas, django_capture_on_commit_callbacks)
        [envelope] = tls_relay.recorder.envelopes
        assert envelope.rcpt_tos == [RECIPIENT_EMAIL]
        mail = message_from_bytes(envelope.content, policy=policy.default)
        assert BODY in body_text(mail) and SUBJECT not in str(mail["Subject"])
        [attachment] = list(mail.iter_attachments())
        # Byte for byte: a signed record package keeps its signature.
        assert (attachment.get_filename(), attachment.get_content()) == ("thyroid.pdf", PDF_BYTES)
        assert smtp_server.messages == []
        assert (package.delivered_by, package.link_hash) == (DeliveryMethod.TLS_EMAIL, "")
        assert package.link_sent_at is not None

    def test_the_log_keeps_what_protected_it(
        self,
        personas: Any,
        authorized: Any,
        tls_relay: Server,
        leaf: Leaf,
        smtp_server: Any,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        _policy(personas)
        package = _sent(personas, django_capture_on_commit_callbacks)
        [log] = Transmission.objects.all()
        assert (log.guest_package_id, log.delivery_id, log.outcome) == (
            package.pk,
            None,
            Outcome.SENT,
        )
        assert log.tls_version in ("TLSv1.2", "TLSv1.3")
        assert log.certificate_sha256 == hashlib.sha256(leaf.der).hexdigest()

    def test_the_patient_sees_the_sender_emailed_it(
        self,
        personas: Any,
        authorized: Any,
        tls_relay: Server,
        smtp_server: Any,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        _policy(personas)
        _sent(personas, django_capture_on_commit_callbacks)
        shown = access_history_visible_to(personas.patient).filter(
            action="messaging.guest_content_emailed"
        )
        assert [e.actor_id for e in shown] == [personas.clinician.pk]

    def test_the_sender_sees_how_it_went(
        self,
        personas: Any,
        authorized: Any,
        tls_relay: Server,
        smtp_server: Any,
        client_for: Any,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        _policy(personas)
        _sent(personas, django_capture_on_commit_callbacks)
        assert "package e-mailed over verified TLS" in _packages_page(client_for, personas)


class TestPickupLinkInstead:
    def test_without_verified_tls_the_link_goes_and_nothing_of_the_package(
        self,
        personas: Any,
        authorized: Any,
        clear_relay: Server,
        smtp_server: Any,
        client_for: Any,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        _policy(personas)
        package = _sent(personas, django_capture_on_commit_callbacks)
        assert len(_links(smtp_server)) == 1
        received = bytes(clear_relay.recorder.clear + clear_relay.recorder.encrypted)
        for secret in (BODY, SUBJECT, "thyroid.pdf", RECIPIENT_EMAIL):
            assert secret.encode() not in received
        [log] = Transmission.objects.all()
        assert (log.outcome, log.code) == (Outcome.FELL_BACK, "tls_no_starttls")
        assert package.delivered_by == DeliveryMethod.PORTAL
        assert NO_TLS_NOTE in _packages_page(client_for, personas)
        assert AuditEvent.objects.filter(action="messaging.guest_content_fell_back").count() == 1

    def test_a_refusing_server_leaves_the_link(
        self,
        personas: Any,
        authorized: Any,
        tls_relay: Server,
        smtp_server: Any,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        _policy(personas)
        tls_relay.recorder.rcpt_reply = "550 5.1.1 No such mailbox"
        _sent(personas, django_capture_on_commit_callbacks)
        assert len(_links(smtp_server)) == 1
        [log] = Transmission.objects.all()
        assert (log.outcome, log.code) == (Outcome.FELL_BACK, "smtp_550")

    def test_a_package_over_the_email_limit_goes_as_a_link(
        self,
        personas: Any,
        authorized: Any,
        tls_relay: Server,
        smtp_server: Any,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        _policy(personas, email_max_bytes=MIB)
        notes = attachment_check(name="notes.txt", data=b"Fasting glucose normal.\n" * 50_000)
        package = _sent(personas, django_capture_on_commit_callbacks, attachments=[notes])
        assert tls_relay.recorder.envelopes == [] and len(_links(smtp_server)) == 1
        [log] = Transmission.objects.all()
        assert (log.method, log.code) == (DeliveryMethod.PORTAL, "decided")
        assert package.fallback_reason.startswith("the content is larger than the e-mail limit")

    def test_restricted_content_never_leaves_by_email(
        self,
        personas: Any,
        authorized: Any,
        tls_relay: Server,
        smtp_server: Any,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        _policy(personas, restricted_categories=frozenset({ContentCategory.HIV_STI}))
        package = _sent(
            personas, django_capture_on_commit_callbacks, content_categories=["hiv_sti"]
        )
        assert tls_relay.recorder.envelopes == [] and len(_links(smtp_server)) == 1
        [log] = Transmission.objects.all()
        assert (log.method, log.code) == (DeliveryMethod.PORTAL, "decided")
        assert "never leave by e-mail" in package.fallback_reason

    def test_when_the_policy_does_not_email_third_parties_nothing_changes(
        self,
        personas: Any,
        authorized: Any,
        tls_relay: Server,
        smtp_server: Any,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        _policy(personas, third_party_tls=False)
        package = _sent(personas, django_capture_on_commit_callbacks)
        assert tls_relay.recorder.envelopes == [] and len(_links(smtp_server)) == 1
        assert not Transmission.objects.exists()
        assert (package.delivered_by, package.fallback_reason) == (DeliveryMethod.PORTAL, "")


class TestTheSenderSeesTheMethodFirst:
    def _composer(self, client_for: Any, personas: Any) -> str:
        url = reverse("messaging:guest_compose", args=[personas.patient.pk])
        return str(client_for(personas.clinician).get(url).content.decode())

    def test_tls_email_when_the_policy_allows_it(
        self, personas: Any, authorized: Any, client_for: Any
    ) -> None:
        _policy(personas)
        page = self._composer(client_for, personas)
        assert "Will be delivered by <strong>TLS-verified e-mail</strong>" in page

    def test_a_pickup_link_with_the_reason_otherwise(
        self, personas: Any, authorized: Any, client_for: Any
    ) -> None:
        _policy(personas, third_party_tls=False)
        page = self._composer(client_for, personas)
        assert "Will be delivered by <strong>pickup link</strong>" in page
        assert "the organisation does not send e-mail to third parties" in page


class TestAskedAgain:
    def test_after_a_revocation_neither_the_package_nor_a_link_goes(
        self, personas: Any, authorized: Any, tls_relay: Server, smtp_server: Any
    ) -> None:
        """Called on its own, with the policy e-mailing third parties over verified TLS
        and the relay ready to take it: the decision, asked again, stops it."""
        from consent.models import RevocationSource
        from consent.services import authorization_revoke
        from messaging.content_delivery import guest_content_deliver

        _policy(personas)
        package = package_send(personas)  # on_commit never runs here: nothing went out yet
        authorization_revoke(
            actor=personas.patient, authorization=authorized, source=RevocationSource.PORTAL
        )
        assert guest_content_deliver(package) is False
        assert tls_relay.recorder.envelopes == []
        assert smtp_server.messages == []
        assert not Transmission.objects.filter(guest_package=package).exists()
