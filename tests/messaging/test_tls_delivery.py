"""Verified-TLS delivery to the recipient's MX hosts, against real SMTP servers on loopback.

The MX names (``mx.test``, ``mx2.test``) are resolved by injected functions: the MX
lookup maps ``mail.test`` to them and the address lookup maps each name to a loopback
address, while the client verifies the certificate against the MX *name*, as it would
for a real host. Certificates come from a CA made for the run; the client trusts it alone.
"""

from __future__ import annotations

import hashlib
import ssl
from collections.abc import Iterator
from email.message import EmailMessage
from functools import partial
from typing import Any

import dns.resolver
import pytest
from django.core.mail import EmailMessage as DjangoEmailMessage

from messaging.tls_delivery import (
    CERTIFICATE_EXPIRED,
    CERTIFICATE_HOST_MISMATCH,
    CERTIFICATE_UNTRUSTED,
    DNS_FAILURE,
    NO_MX,
    NO_STARTTLS,
    STARTTLS_REFUSED,
    TLS_HANDSHAKE,
    UNREACHABLE,
    ResolveMx,
    TlsDeliveryError,
    TlsPermanentFailure,
    TlsReceipt,
    TlsTemporaryFailure,
    TlsUnavailable,
    deliver_many,
    deliver_verified,
    dns_resolve_mx,
    mx_hosts,
)
from tests.messaging.tls_servers import Server, ThrowawayCA, dns_serve, free_port, smtp_serve

RECIPIENT = "penelope.patient@mail.test"
SECRET_LINE = "Your biopsy result is ready: benign"
# Two loopback addresses, so two "MX hosts" can share one port number and the first can
# be down (nothing listens on 127.0.0.2 at that port).
ADDRESSES = {"mx.test": "127.0.0.1", "mx2.test": "127.0.0.2", "relay.test": "127.0.0.1"}


@pytest.fixture(scope="module")
def ca() -> ThrowawayCA:
    return ThrowawayCA()


@pytest.fixture
def tls_server(ca: ThrowawayCA) -> Iterator[Server]:
    context = ca.leaf("mx.test", "localhost", "relay.test").server_context()
    with smtp_serve(tls=context) as server:
        yield server


def message() -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = "no-reply@clinic.test"
    mail["To"] = RECIPIENT
    mail["Subject"] = "Results"
    mail.set_content(SECRET_LINE)
    return mail


def mx_of(*hosts: str) -> ResolveMx:
    """An MX lookup that knows one domain, ``mail.test``, served by ``hosts`` in order."""

    def resolve(domain: str) -> list[tuple[int, str]]:
        if domain != "mail.test":
            return []
        return [(10 * rank, host) for rank, host in enumerate(hosts)]

    return resolve


def deliver(server: Server, ca: ThrowawayCA, *, mx: tuple[str, ...] = ("mx.test",)) -> TlsReceipt:
    return deliver_verified(
        message(),
        RECIPIENT,
        resolve_mx=mx_of(*mx),
        port=server.port,
        ssl_context=ca.client_context(),
        resolve_address=ADDRESSES.__getitem__,
        timeout=5,
        relay="",
    )


def nothing_received(server: Server) -> bool:
    """No envelope, and the message text in no byte the server read, clear or not."""
    wire = bytes(server.recorder.clear + server.recorder.encrypted)
    return not server.recorder.envelopes and SECRET_LINE.encode() not in wire


class TestMxHosts:
    def test_it_orders_hosts_by_preference(self) -> None:
        resolver = lambda domain: [(20, "b.test."), (5, "A.test."), (10, "c.test")]  # noqa: E731
        assert mx_hosts("mail.test", resolver) == ["a.test", "c.test", "b.test"]

    def test_a_domain_without_mx_has_no_hosts(self) -> None:
        assert mx_hosts("mail.test", lambda domain: []) == []

    def test_a_null_mx_means_no_hosts(self) -> None:
        assert mx_hosts("mail.test", lambda domain: [(0, ".")]) == []

    def test_the_resolver_gets_the_bare_domain(self) -> None:
        asked: list[str] = []
        mx_hosts("Mail.Test.", lambda domain: asked.append(domain) or [])  # type: ignore[func-returns-value]
        assert asked == ["mail.test"]


def loopback_resolver(port: int) -> dns.resolver.Resolver:
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers, resolver.port = ["127.0.0.1"], port
    return resolver


class TestDnsResolveMx:
    """The default lookup (dnspython) against a DNS server on loopback."""

    def test_it_reads_the_mx_records(self) -> None:
        with dns_serve({"mail.test": [(20, "mx2.test"), (10, "mx.test")]}) as port:
            hosts = mx_hosts("mail.test", partial(dns_resolve_mx, resolver=loopback_resolver(port)))
        assert hosts == ["mx.test", "mx2.test"]

    def test_a_domain_with_no_mx_records_has_none(self) -> None:
        with dns_serve({"mail.test": []}) as port:
            assert dns_resolve_mx("mail.test", loopback_resolver(port)) == []

    def test_a_domain_that_does_not_exist_has_none(self) -> None:
        with dns_serve({}) as port:
            assert dns_resolve_mx("mail.test", loopback_resolver(port)) == []

    def test_a_silent_resolver_is_a_temporary_dns_failure(self) -> None:
        with dns_serve({}, silent=True) as port:
            resolver = loopback_resolver(port)
            resolver.lifetime = 0.3
            with pytest.raises(TlsUnavailable) as refused:
                dns_resolve_mx("mail.test", resolver)
        assert refused.value.code == DNS_FAILURE and refused.value.temporary


class TestDeliverVerified:
    def test_it_delivers_over_verified_tls(self, tls_server: Server, ca: ThrowawayCA) -> None:
        receipt = deliver(tls_server, ca)
        (envelope,) = tls_server.recorder.envelopes
        assert envelope.rcpt_tos == [RECIPIENT]
        assert SECRET_LINE.encode() in envelope.content
        assert receipt.mx_host == "mx.test" and not receipt.via_relay

    def test_the_receipt_names_the_tls_version_and_cipher(
        self, tls_server: Server, ca: ThrowawayCA
    ) -> None:
        receipt = deliver(tls_server, ca)
        assert receipt.tls_version in {"TLSv1.2", "TLSv1.3"}
        assert receipt.cipher.startswith(("TLS_", "ECDHE-"))
        assert receipt.delivered_at.tzinfo is not None

    def test_the_fingerprint_is_the_servers_certificate(self, ca: ThrowawayCA) -> None:
        leaf = ca.leaf("mx.test")
        with smtp_serve(tls=leaf.server_context()) as server:
            receipt = deliver(server, ca)
        assert receipt.certificate_sha256 == hashlib.sha256(leaf.der).hexdigest()

    def test_nothing_but_ehlo_and_starttls_travels_in_clear(
        self, tls_server: Server, ca: ThrowawayCA
    ) -> None:
        deliver(tls_server, ca)
        lines = bytes(tls_server.recorder.clear).split(b"\r\n")
        assert [line.split(b" ")[0].upper() for line in lines if line] == [b"EHLO", b"STARTTLS"]
        assert SECRET_LINE.encode() in bytes(tls_server.recorder.encrypted)

    def test_it_sends_a_django_email_message(self, tls_server: Server, ca: ThrowawayCA) -> None:
        mail = DjangoEmailMessage("Results", SECRET_LINE, "no-reply@clinic.test", [RECIPIENT])
        deliver_verified(
            mail,
            RECIPIENT,
            resolve_mx=mx_of("mx.test"),
            port=tls_server.port,
            ssl_context=ca.client_context(),
            resolve_address=ADDRESSES.__getitem__,
            relay="",
        )
        (envelope,) = tls_server.recorder.envelopes
        assert envelope.mail_from == "no-reply@clinic.test"

    def test_it_refuses_a_server_without_starttls(self, ca: ThrowawayCA) -> None:
        with smtp_serve(tls=None) as server, pytest.raises(TlsUnavailable) as refused:
            deliver(server, ca)
        assert refused.value.code == NO_STARTTLS
        assert nothing_received(server) and b"MAIL" not in bytes(server.recorder.clear).upper()

    def test_it_sends_nothing_when_starttls_is_offered_then_refused(self, ca: ThrowawayCA) -> None:
        with smtp_serve(tls=None) as server, pytest.raises(TlsUnavailable) as refused:
            server.recorder.claim_starttls = True
            deliver(server, ca)
        assert refused.value.code == STARTTLS_REFUSED and refused.value.temporary
        assert nothing_received(server) and b"MAIL" not in bytes(server.recorder.clear).upper()

    def test_it_refuses_an_expired_certificate(self, ca: ThrowawayCA) -> None:
        context = ca.leaf("mx.test", expired=True).server_context()
        with smtp_serve(tls=context) as server, pytest.raises(TlsUnavailable) as refused:
            deliver(server, ca)
        assert refused.value.code == CERTIFICATE_EXPIRED
        assert nothing_received(server)

    def test_it_refuses_a_certificate_for_another_host(self, ca: ThrowawayCA) -> None:
        context = ca.leaf("wrong.test").server_context()
        with smtp_serve(tls=context) as server, pytest.raises(TlsUnavailable) as refused:
            deliver(server, ca)
        assert refused.value.code == CERTIFICATE_HOST_MISMATCH
        assert nothing_received(server)

    def test_it_refuses_a_certificate_from_an_unknown_ca(self, ca: ThrowawayCA) -> None:
        context = ThrowawayCA().leaf("mx.test").server_context()
        with smtp_serve(tls=context) as server, pytest.raises(TlsUnavailable) as refused:
            deliver(server, ca)
        assert refused.value.code == CERTIFICATE_UNTRUSTED
        assert nothing_received(server)

    def test_it_refuses_tls_below_1_2(self, ca: ThrowawayCA) -> None:
        context = ca.leaf("mx.test").server_context(maximum=ssl.TLSVersion.TLSv1_1)
        with smtp_serve(tls=context) as server, pytest.raises(TlsUnavailable) as refused:
            deliver(server, ca)
        assert refused.value.code == TLS_HANDSHAKE
        assert nothing_received(server)

    def test_a_domain_without_mx_gets_nothing(self, ca: ThrowawayCA) -> None:
        with pytest.raises(TlsUnavailable) as refused:
            deliver_verified(
                message(), RECIPIENT, resolve_mx=lambda domain: [], relay="", timeout=5
            )
        assert refused.value.code == NO_MX

    def test_it_uses_the_second_mx_when_the_first_is_down(
        self, tls_server: Server, ca: ThrowawayCA
    ) -> None:
        receipt = deliver(tls_server, ca, mx=("mx2.test", "mx.test"))
        assert receipt.mx_host == "mx.test"
        assert len(tls_server.recorder.envelopes) == 1

    def test_every_mx_down_is_unreachable_and_temporary(self, ca: ThrowawayCA) -> None:
        with pytest.raises(TlsUnavailable) as refused:
            deliver_verified(
                message(),
                RECIPIENT,
                resolve_mx=mx_of("mx2.test", "mx2.test"),
                port=free_port("127.0.0.2"),
                ssl_context=ca.client_context(),
                resolve_address=ADDRESSES.__getitem__,
                relay="",
                timeout=5,
            )
        assert refused.value.code == UNREACHABLE and refused.value.temporary
        assert refused.value.attempts == (UNREACHABLE, UNREACHABLE)

    def test_a_4xx_reply_is_a_temporary_failure(self, tls_server: Server, ca: ThrowawayCA) -> None:
        tls_server.recorder.rcpt_reply = "451 4.2.0 mailbox busy <penelope.patient@mail.test>"
        with pytest.raises(TlsTemporaryFailure) as refused:
            deliver(tls_server, ca)
        assert refused.value.smtp_code == 451 and refused.value.temporary

    def test_a_5xx_reply_is_a_permanent_failure(self, tls_server: Server, ca: ThrowawayCA) -> None:
        tls_server.recorder.rcpt_reply = "550 5.1.1 <penelope.patient@mail.test> unknown"
        with pytest.raises(TlsPermanentFailure) as refused:
            deliver(tls_server, ca)
        assert refused.value.smtp_code == 550 and not refused.value.temporary

    def test_a_refused_message_body_is_a_permanent_failure(
        self, tls_server: Server, ca: ThrowawayCA
    ) -> None:
        tls_server.recorder.data_reply = "554 5.7.1 message refused"
        with pytest.raises(TlsPermanentFailure) as refused:
            deliver(tls_server, ca)
        assert refused.value.code == "data_refused" and refused.value.smtp_code == 554

    def test_by_default_only_the_systems_trusted_roots_count(self, tls_server: Server) -> None:
        with pytest.raises(TlsUnavailable) as refused:
            deliver_verified(
                message(),
                RECIPIENT,
                resolve_mx=mx_of("mx.test"),
                port=tls_server.port,
                resolve_address=ADDRESSES.__getitem__,
                relay="",
            )
        assert refused.value.code == CERTIFICATE_UNTRUSTED
        assert nothing_received(tls_server)

    def test_an_address_without_a_domain_is_refused_before_any_lookup(self) -> None:
        with pytest.raises(ValueError, match="no domain"):
            deliver_verified(message(), "penelope.patient", resolve_mx=mx_of("mx.test"), relay="")

    def test_no_error_names_the_recipient_or_the_reply(
        self, tls_server: Server, ca: ThrowawayCA
    ) -> None:
        tls_server.recorder.rcpt_reply = "550 5.1.1 <penelope.patient@mail.test> unknown"
        with pytest.raises(TlsDeliveryError) as refused:
            deliver(tls_server, ca)
        text = f"{refused.value} {refused.value.args}".lower()
        assert "penelope" not in text and "mail.test" not in text and "unknown" not in text

    def test_it_refuses_a_context_that_does_not_verify(self, tls_server: Server) -> None:
        lax = ssl.create_default_context()
        lax.check_hostname = False
        with pytest.raises(ValueError, match="verify"):
            deliver_verified(message(), RECIPIENT, resolve_mx=mx_of("mx.test"), ssl_context=lax)
        assert not tls_server.recorder.envelopes


class TestRelay:
    def test_a_configured_relay_replaces_the_mx_lookup(
        self, tls_server: Server, ca: ThrowawayCA, settings: Any
    ) -> None:
        settings.EMAIL_TLS_RELAY = f"relay.test:{tls_server.port}"

        def no_lookup(domain: str) -> list[tuple[int, str]]:
            raise AssertionError("the relay replaces the MX lookup")

        receipt = deliver_verified(
            message(),
            RECIPIENT,
            resolve_mx=no_lookup,
            ssl_context=ca.client_context(),
            resolve_address=ADDRESSES.__getitem__,
        )
        assert receipt.mx_host == "relay.test" and receipt.via_relay
        assert len(tls_server.recorder.envelopes) == 1

    def test_the_relay_must_offer_starttls_too(self, ca: ThrowawayCA, settings: Any) -> None:
        with smtp_serve(tls=None) as server:
            settings.EMAIL_TLS_RELAY = f"relay.test:{server.port}"
            with pytest.raises(TlsUnavailable) as refused:
                deliver_verified(
                    message(),
                    RECIPIENT,
                    ssl_context=ca.client_context(),
                    resolve_address=ADDRESSES.__getitem__,
                )
        assert refused.value.code == NO_STARTTLS and nothing_received(server)


class TestDeliverMany:
    def test_one_session_carries_every_message_to_a_domain(
        self, tls_server: Server, ca: ThrowawayCA
    ) -> None:
        results = deliver_many(
            [(message(), RECIPIENT), (message(), "ulrich.unrelated@mail.test")],
            resolve_mx=mx_of("mx.test"),
            port=tls_server.port,
            ssl_context=ca.client_context(),
            resolve_address=ADDRESSES.__getitem__,
            relay="",
        )
        assert all(isinstance(result, TlsReceipt) for result in results)
        assert bytes(tls_server.recorder.clear).upper().count(b"STARTTLS") == 1
        assert len(tls_server.recorder.envelopes) == 2

    def test_a_refused_message_does_not_stop_the_next(
        self, tls_server: Server, ca: ThrowawayCA
    ) -> None:
        tls_server.recorder.mail_reply = "452 4.3.1 try later"
        results = deliver_many(
            [(message(), RECIPIENT)] * 2,
            resolve_mx=mx_of("mx.test"),
            port=tls_server.port,
            ssl_context=ca.client_context(),
            resolve_address=ADDRESSES.__getitem__,
            relay="",
        )
        assert [type(result) for result in results] == [TlsTemporaryFailure] * 2

    def test_a_domain_without_tls_fails_only_its_own_messages(
        self, tls_server: Server, ca: ThrowawayCA
    ) -> None:
        results = deliver_many(
            [(message(), RECIPIENT), (message(), "someone@nomx.test")],
            resolve_mx=lambda domain: [(10, "mx.test")] if domain == "mail.test" else [],
            port=tls_server.port,
            ssl_context=ca.client_context(),
            resolve_address=ADDRESSES.__getitem__,
            relay="",
        )
        assert isinstance(results[0], TlsReceipt)
        assert isinstance(results[1], TlsUnavailable) and results[1].code == NO_MX
