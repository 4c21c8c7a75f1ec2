"""A throwaway CA and loopback SMTP servers with and without STARTTLS (not a test module).

Shared by tests/messaging/test_tls_delivery.py and bench/tls_delivery_bench.py. Each
server records every byte it read, split into what arrived in clear and what arrived
inside TLS, so a test can prove that no part of a message crossed the wire unencrypted.
"""

from __future__ import annotations

import socket
import ssl
import tempfile
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class Leaf:
    """A server certificate and key, PEM, and the certificate's DER."""

    cert_pem: bytes
    key_pem: bytes
    der: bytes

    def server_context(self, *, maximum: ssl.TLSVersion | None = None) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        if maximum is not None:
            # A server stuck on an old version, as some still are; Python warns about it.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
                context.maximum_version = maximum
        # ssl loads chains only from files; a temporary directory lives long enough.
        with tempfile.TemporaryDirectory() as directory:
            cert, key = Path(directory, "cert.pem"), Path(directory, "key.pem")
            cert.write_bytes(self.cert_pem)
            key.write_bytes(self.key_pem)
            context.load_cert_chain(cert, key)
        return context


class ThrowawayCA:
    """A certificate authority made for one test run; clients trust only it."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Throwaway test CA")])
        now = datetime.now(UTC)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False
            )
            .sign(self.key, hashes.SHA256())
        )

    def leaf(self, *names: str, expired: bool = False) -> Leaf:
        """A server certificate for ``names`` (SAN DNS names), valid now unless ``expired``."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        start, end = (
            (now - timedelta(days=30), now - timedelta(days=1))
            if expired
            else (now - timedelta(days=1), now + timedelta(days=30))
        )
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(
                x509.SubjectAlternativeName([x509.DNSName(name) for name in names]),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
            .sign(self.key, hashes.SHA256())
        )
        return Leaf(
            cert_pem=cert.public_bytes(serialization.Encoding.PEM),
            key_pem=key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
            der=cert.public_bytes(serialization.Encoding.DER),
        )

    def client_context(self) -> ssl.SSLContext:
        """Like ``messaging.tls_delivery.verified_context`` but trusting this CA alone."""
        context = ssl.create_default_context(
            cadata=self.cert.public_bytes(serialization.Encoding.PEM).decode()
        )
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return context


@dataclass
class Recorder:
    """An aiosmtpd handler that keeps every envelope and every byte its server read."""

    clear: bytearray = field(default_factory=bytearray)  # read before STARTTLS
    encrypted: bytearray = field(default_factory=bytearray)  # read inside TLS, decrypted
    envelopes: list[Any] = field(default_factory=list)
    mail_reply: str = ""  # e.g. "451 4.3.0 try later"; "" accepts
    rcpt_reply: str = ""
    data_reply: str = ""
    count_only: bool = False  # the benchmark keeps a count, not the envelopes
    claim_starttls: bool = False  # advertise STARTTLS without a TLS context (then 454)

    accepted: int = 0

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        if self.claim_starttls:
            return [*responses[:-1], "250-STARTTLS", responses[-1]]
        return responses

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.mail_reply:
            return self.mail_reply
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_reply:
            return self.data_reply
        self.accepted += 1
        if not self.count_only:
            self.envelopes.append(envelope)
        return "250 OK"


class _RecordingSMTP(SMTP):
    """aiosmtpd's server, noting each chunk read; after STARTTLS the TLS layer hands it
    the decrypted bytes through the same ``data_received``."""

    recorder: Recorder

    def data_received(self, data: bytes) -> None:
        if not self.recorder.count_only:
            inside_tls = getattr(self, "_tls_protocol", None) is not None
            (self.recorder.encrypted if inside_tls else self.recorder.clear).extend(data)
        super().data_received(data)


class _RecordingController(Controller):
    def factory(self) -> SMTP:
        server = _RecordingSMTP(self.handler, **self.SMTP_kwargs)
        server.recorder = self.handler
        return server


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    recorder: Recorder


@contextmanager
def smtp_serve(
    *,
    tls: ssl.SSLContext | None,
    host: str = "127.0.0.1",
    port: int | None = None,
    count_only: bool = False,
) -> Iterator[Server]:
    """An SMTP server on loopback; with ``tls`` it offers and requires STARTTLS."""
    recorder = Recorder(count_only=count_only)
    port = port or free_port(host)
    options: dict[str, Any] = {"tls_context": tls, "require_starttls": True} if tls else {}
    controller = _RecordingController(recorder, hostname=host, port=port, **options)
    controller.start()
    try:
        yield Server(host, port, recorder)
    finally:
        controller.stop()


@contextmanager
def dns_serve(zone: dict[str, list[tuple[int, str]]], *, silent: bool = False) -> Iterator[int]:
    """A UDP DNS server on 127.0.0.1 answering MX queries from ``zone``; yields its port.

    A name in ``zone`` with no records answers NOERROR with no answer ("no MX"); a name
    not in it answers NXDOMAIN; ``silent`` answers nothing at all (a resolver timing out).
    """
    import dns.message
    import dns.rcode
    import dns.rdataclass
    import dns.rdatatype
    import dns.rrset

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                wire, peer = sock.recvfrom(4096)
            except TimeoutError:
                continue
            if silent:
                continue
            query = dns.message.from_wire(wire)
            reply = dns.message.make_response(query)
            name = query.question[0].name.to_text(omit_final_dot=True).lower()
            if name not in zone:
                reply.set_rcode(dns.rcode.NXDOMAIN)
            elif zone[name]:
                texts = [f"{preference} {host}." for preference, host in zone[name]]
                reply.answer.append(
                    dns.rrset.from_text_list(
                        query.question[0].name, 300, dns.rdataclass.IN, dns.rdatatype.MX, texts
                    )
                )
            sock.sendto(reply.to_wire(), peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(sock.getsockname()[1])
    finally:
        stop.set()
        thread.join()
        sock.close()
