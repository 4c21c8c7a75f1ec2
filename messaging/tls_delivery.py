"""E-mail that travels encrypted to the recipient's own mail server, or not at all.

45 CFR 164.312(e)(1) (transmission security): a provider may e-mail health information
only over a connection encrypted all the way to the recipient's mail server. Ordinary
SMTP treats STARTTLS as optional and unverified, so a network attacker can strip it or
present any certificate and read the message. Here every hop we control is verified:

* the recipient domain's MX hosts are tried in preference order (``mx_hosts``); a domain
  without MX records gets nothing (no fall-back to its A record, see ``mx_hosts``);
* each host must advertise STARTTLS, else nothing but EHLO and QUIT is sent to it;
* the handshake must reach TLS 1.2 or later with a certificate that chains to a trusted
  root and names the MX host (``ssl.create_default_context``: hostname checked);
* only then MAIL, RCPT and DATA are sent, and a ``TlsReceipt`` records what protected them.

Or, with ``EMAIL_TLS_RELAY`` set, through that one relay under the same rules instead of
the MX hosts (the README says what the relay itself must guarantee).

What this does not defend against: MX records come from DNS, which is not authenticated
here, so an attacker who forges the MX answer can name their own host, with a valid
certificate for that name. MTA-STS (RFC 8461) or DANE (RFC 7672) close that gap; both
are out of scope for this block and would plug into ``resolve_mx``.

No exception or log line carries the recipient's address, the message or the server's
reply text (a 550 reply commonly quotes the address): only stable codes, reason texts
written here and SMTP status numbers.
"""

from __future__ import annotations

import hashlib
import smtplib
import socket
import ssl
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.message import Message
from email.utils import parseaddr
from functools import cache
from typing import Protocol

import dns.exception
import dns.resolver
from django.conf import settings

from support.net import relay_parse

# The injectable lookups: MX records of a domain as (preference, host name), and the
# address to open a TCP connection to for a host name (the certificate is still checked
# against the host name; see ``_VerifiedSMTP``).
ResolveMx = Callable[[str], list[tuple[int, str]]]
ResolveAddress = Callable[[str], str]

DEFAULT_TIMEOUT = 30.0
_TLS_VERSIONS = {"TLSv1.2", "TLSv1.3"}


class DjangoEmail(Protocol):
    """Django's ``EmailMessage`` as far as we use it (``message()`` builds the MIME)."""

    def message(self) -> Message: ...


class TlsDeliveryError(Exception):
    """Delivery did not happen. ``code`` is stable and safe to log or audit.

    The message is ``code: reason`` and never holds the recipient, the content or the
    server's reply text. ``temporary`` says whether trying again later may succeed.
    """

    temporary = False

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


class TlsUnavailable(TlsDeliveryError):
    """No verified TLS connection could be made: nothing of the message was sent.

    ``attempts`` lists one code per host tried, in order (host names are left out: they
    name the recipient's domain).
    """

    def __init__(
        self,
        code: str,
        reason: str,
        *,
        temporary: bool = False,
        attempts: Sequence[str] = (),
    ) -> None:
        super().__init__(code, reason)
        self.temporary = temporary
        self.attempts = tuple(attempts)


class TlsSmtpRefusal(TlsDeliveryError):
    """The server, reached over verified TLS, refused; ``smtp_code`` is its status."""

    def __init__(self, code: str, reason: str, *, smtp_code: int) -> None:
        super().__init__(code, f"{reason} (SMTP {smtp_code})")
        self.smtp_code = smtp_code


class TlsTemporaryFailure(TlsSmtpRefusal):
    """A 4xx reply (mailbox busy, greylisting, quota): try again later."""

    temporary = True


class TlsPermanentFailure(TlsSmtpRefusal):
    """A 5xx reply (no such mailbox, policy refusal): trying again will not help."""


# Why a host was refused, most telling first: the code of a failed delivery is the first
# of these seen on any host (a certificate problem says more than a host that was down).
NO_MX = "no_mx"
DNS_FAILURE = "dns_failure"
NO_STARTTLS = "no_starttls"
STARTTLS_REFUSED = "starttls_refused"
CERTIFICATE_EXPIRED = "certificate_expired"
CERTIFICATE_HOST_MISMATCH = "certificate_host_mismatch"
CERTIFICATE_UNTRUSTED = "certificate_untrusted"
TLS_HANDSHAKE = "tls_handshake"
TLS_VERSION = "tls_version"
UNREACHABLE = "unreachable"
_REASONS = {
    CERTIFICATE_EXPIRED: "the server's certificate has expired",
    CERTIFICATE_HOST_MISMATCH: "the server's certificate does not name the host",
    CERTIFICATE_UNTRUSTED: "the server's certificate is not trusted",
    TLS_VERSION: "the server negotiated a TLS version below 1.2",
    TLS_HANDSHAKE: "the TLS handshake failed (for example no common version >= 1.2)",
    NO_STARTTLS: "the server does not offer STARTTLS",
    STARTTLS_REFUSED: "the server refused STARTTLS",
    UNREACHABLE: "the server could not be reached or dropped the connection",
}
# Unreachable hosts may come back; every other refusal is how the host is configured.
_TEMPORARY = {UNREACHABLE, STARTTLS_REFUSED}
_X509_V_ERR_CERT_HAS_EXPIRED = 10
_X509_V_ERR_HOSTNAME_MISMATCH = 62


@dataclass(frozen=True)
class TlsReceipt:
    """What protected one delivery, for the transmission log.

    ``mx_host`` is the host the certificate was verified for (the relay's name when a
    relay was used, ``via_relay``); ``certificate_sha256`` is the hex SHA-256 of the
    peer certificate in DER form, the usual certificate fingerprint.
    """

    mx_host: str
    tls_version: str
    cipher: str
    certificate_sha256: str
    delivered_at: datetime
    via_relay: bool = False


def dns_resolve_mx(
    domain: str, resolver: dns.resolver.Resolver | None = None
) -> list[tuple[int, str]]:
    """The domain's MX records from the system's DNS resolvers (dnspython), or ``resolver``'s.

    NXDOMAIN and "no MX records" are an empty list; a resolver that does not answer is
    ``TlsUnavailable(DNS_FAILURE, temporary=True)``.
    """
    try:
        if resolver is None:
            answer = dns.resolver.resolve(domain, "MX", lifetime=DEFAULT_TIMEOUT)
        else:
            answer = resolver.resolve(domain, "MX")  # its own lifetime
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except dns.exception.DNSException:
        raise TlsUnavailable(
            DNS_FAILURE, "the MX records could not be looked up", temporary=True
        ) from None
    return [
        (int(record.preference), record.exchange.to_text(omit_final_dot=True)) for record in answer
    ]


def mx_hosts(domain: str, resolver: ResolveMx | None = None) -> list[str]:
    """The domain's mail servers, most preferred first; no MX records is an empty list.

    Deliberately no fall-back to the domain's A/AAAA record (RFC 5321 5.1's "implicit
    MX"): a domain that publishes no MX has not said it receives mail, and a web server
    that happens to listen on port 25 is not where health information should go. A
    "null MX" (RFC 7505: ``0 .``) means the domain accepts no mail and is also empty.
    Equal preferences keep the resolver's order (no shuffling: we send little mail).
    """
    records = (resolver or dns_resolve_mx)(domain.strip().rstrip(".").lower())
    ordered = sorted(records, key=lambda record: record[0])
    return [host.rstrip(".").lower() for _, host in ordered if host.strip(".")]


def verified_context() -> ssl.SSLContext:
    """The system's trusted roots, host name checked, TLS 1.2 or later."""
    context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def _context_check(context: ssl.SSLContext) -> ssl.SSLContext:
    """Refuse an injected context weaker than ``verified_context`` (a programming error)."""
    if (
        context.verify_mode != ssl.CERT_REQUIRED
        or not context.check_hostname
        or context.minimum_version < ssl.TLSVersion.TLSv1_2
    ):
        raise ValueError("the TLS context must verify certificates and host names, TLS >= 1.2")
    return context


@cache
def _local_hostname() -> str:
    # smtplib asks for the FQDN on every connection, a reverse DNS lookup each time.
    return socket.getfqdn()


class _VerifiedSMTP(smtplib.SMTP):
    """``smtplib.SMTP`` that may open the TCP connection to another address than the name.

    smtplib verifies the certificate against the host name given to its constructor
    (passed as ``server_hostname`` by ``starttls``), so we always construct it with the
    MX *name*; ``resolve_address`` only chooses where the socket goes. In production it
    is None and the operating system resolves the name as usual; tests map ``mx.test``
    to 127.0.0.1, so the client really verifies the name ``mx.test`` against a
    certificate served from loopback, exactly as it would verify a real MX host.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        resolve_address: ResolveAddress | None,
        timeout: float,
        local_hostname: str,
    ) -> None:
        # Set before smtplib's __init__, which connects (through _get_socket) at once.
        self._resolve_address = resolve_address
        super().__init__(host, port, local_hostname=local_hostname, timeout=timeout)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        address = self._resolve_address(host) if self._resolve_address else host
        return socket.create_connection((address, port), timeout, self.source_address)


@dataclass
class _Session:
    smtp: _VerifiedSMTP
    host: str
    tls_version: str
    cipher: str
    certificate_sha256: str


def _session_open(
    host: str,
    port: int,
    *,
    context: ssl.SSLContext,
    resolve_address: ResolveAddress | None,
    timeout: float,
) -> _Session:
    """Connect, require STARTTLS, verify; raises TlsUnavailable with one code on refusal."""
    smtp: _VerifiedSMTP | None = None
    try:
        smtp = _VerifiedSMTP(
            host,
            port,
            resolve_address=resolve_address,
            timeout=timeout,
            local_hostname=_local_hostname(),
        )
        code = _session_secure(smtp, context)
    except ssl.SSLCertVerificationError as error:
        code = {
            _X509_V_ERR_CERT_HAS_EXPIRED: CERTIFICATE_EXPIRED,
            _X509_V_ERR_HOSTNAME_MISMATCH: CERTIFICATE_HOST_MISMATCH,
        }.get(error.verify_code, CERTIFICATE_UNTRUSTED)
    except ssl.SSLError:
        code = TLS_HANDSHAKE
    except smtplib.SMTPNotSupportedError:
        code = NO_STARTTLS
    except smtplib.SMTPConnectError:  # a greeting other than 220
        code = UNREACHABLE
    except smtplib.SMTPResponseException:
        code = STARTTLS_REFUSED
    except (OSError, smtplib.SMTPException):
        code = UNREACHABLE
    if code or smtp is None:
        if smtp is not None:
            # No QUIT: after a failed handshake the socket is in no state to carry a
            # command, and after a refusal there is nothing left to say in clear.
            smtp.close()
        raise TlsUnavailable(code, _REASONS[code], temporary=code in _TEMPORARY)
    sock = smtp.sock
    assert isinstance(sock, ssl.SSLSocket)
    der = sock.getpeercert(binary_form=True) or b""
    cipher = sock.cipher()
    return _Session(
        smtp=smtp,
        host=host,
        tls_version=sock.version() or "",
        cipher=cipher[0] if cipher else "",
        certificate_sha256=hashlib.sha256(der).hexdigest(),
    )


def _session_secure(smtp: _VerifiedSMTP, context: ssl.SSLContext) -> str:
    """EHLO, STARTTLS, EHLO again; "" when the session is verified TLS >= 1.2."""
    smtp.ehlo()
    try:
        # SMTPNotSupportedError without STARTTLS: raised before any MAIL command is sent.
        smtp.starttls(context=context)
    except (ssl.SSLError, smtplib.SMTPException):
        raise
    except OSError:
        # A server that cannot agree on TLS >= 1.2 often just resets the connection
        # instead of sending an alert; either way the handshake is what failed.
        return TLS_HANDSHAKE
    sock = smtp.sock
    if not isinstance(sock, ssl.SSLSocket) or sock.version() not in _TLS_VERSIONS:
        # The context already refuses older versions; this is the belt to its braces.
        return TLS_VERSION
    smtp.ehlo()  # RFC 3207: forget what was said in clear, ask again
    return ""


def _quietly_close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()


def _envelope_sender(mime: Message) -> str:
    _, address = parseaddr(str(mime.get("From", "")))
    return address or settings.DEFAULT_FROM_EMAIL


def _mime(message: Message | DjangoEmail) -> Message:
    return message if isinstance(message, Message) else message.message()


def _message_send(session: _Session, mime: Message, recipient: str) -> TlsReceipt:
    """One message on an open verified session; 4xx/5xx classified, the reply text dropped."""
    try:
        session.smtp.send_message(mime, from_addr=_envelope_sender(mime), to_addrs=[recipient])
    except smtplib.SMTPRecipientsRefused as error:
        ((status, _),) = error.recipients.values()
        raise _refusal("recipient_refused", "the server refused the recipient", status) from None
    except smtplib.SMTPSenderRefused as error:
        raise _refusal("sender_refused", "the server refused the sender", error.smtp_code) from None
    except smtplib.SMTPDataError as error:
        raise _refusal("data_refused", "the server refused the message", error.smtp_code) from None
    except smtplib.SMTPResponseException as error:
        raise _refusal("smtp_refused", "the server refused", error.smtp_code) from None
    except (OSError, smtplib.SMTPException):
        # The connection broke mid-message: whether the server kept it is unknown.
        raise TlsUnavailable(
            UNREACHABLE, "the connection broke during the transfer", temporary=True
        ) from None
    return TlsReceipt(
        mx_host=session.host,
        tls_version=session.tls_version,
        cipher=session.cipher,
        certificate_sha256=session.certificate_sha256,
        delivered_at=datetime.now(UTC),
    )


def _refusal(code: str, reason: str, status: int) -> TlsSmtpRefusal:
    if 400 <= status < 500:
        return TlsTemporaryFailure(code, reason, smtp_code=status)
    return TlsPermanentFailure(code, reason, smtp_code=status)


def _recipient_domain(recipient: str) -> str:
    local, at, domain = recipient.rpartition("@")
    if not at or not local or not domain:
        raise ValueError("the recipient address has no domain")
    return domain


@dataclass(frozen=True)
class _Route:
    hosts: list[str]
    port: int
    via_relay: bool


def _route(domain: str, *, resolve_mx: ResolveMx | None, port: int, relay: str | None) -> _Route:
    configured = relay_parse(settings.EMAIL_TLS_RELAY if relay is None else relay)
    if configured:
        return _Route([configured[0]], configured[1], via_relay=True)
    hosts = mx_hosts(domain, resolve_mx)
    if not hosts:
        raise TlsUnavailable(NO_MX, "the recipient's domain publishes no mail server")
    return _Route(hosts, port, via_relay=False)


def _session_first(
    route: _Route,
    *,
    context: ssl.SSLContext,
    resolve_address: ResolveAddress | None,
    timeout: float,
) -> _Session:
    """A verified session with the first host of the route that allows one."""
    attempts: list[str] = []
    for host in route.hosts:
        try:
            return _session_open(
                host, route.port, context=context, resolve_address=resolve_address, timeout=timeout
            )
        except TlsUnavailable as error:
            attempts.append(error.code)
    code = next((code for code in attempts if code != UNREACHABLE), UNREACHABLE)
    raise TlsUnavailable(
        code,
        f"no mail server accepted a verified TLS connection; first problem: {_REASONS[code]}",
        temporary=all(attempt in _TEMPORARY for attempt in attempts),
        attempts=attempts,
    )


def deliver_verified(
    message: Message | DjangoEmail,
    recipient: str,
    *,
    resolve_mx: ResolveMx | None = None,
    port: int = 25,
    ssl_context: ssl.SSLContext | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    resolve_address: ResolveAddress | None = None,
    relay: str | None = None,
) -> TlsReceipt:
    """Send ``message`` to ``recipient`` only over verified TLS >= 1.2 to its mail server.

    ``message`` is an ``email.message.EmailMessage`` (any ``email.message.Message``) or a
    Django ``EmailMessage``; only ``recipient`` is used as the envelope recipient (To
    and Cc headers are not), and the envelope sender is the From address.

    The MX hosts are tried in order; a host that is down or fails any TLS rule is
    skipped, and when none is left the result is ``TlsUnavailable`` (nothing was sent
    anywhere). A 4xx or 5xx reply over a verified session is final for this call
    (``TlsTemporaryFailure`` or ``TlsPermanentFailure``): retrying later is the
    pipeline's job. ``relay`` (``host:port``, "" for none) overrides the
    ``EMAIL_TLS_RELAY`` setting, which replaces the MX lookup.
    """
    mime = _mime(message)
    route = _route(_recipient_domain(recipient), resolve_mx=resolve_mx, port=port, relay=relay)
    context = _context_check(ssl_context) if ssl_context else verified_context()
    session = _session_first(
        route, context=context, resolve_address=resolve_address, timeout=timeout
    )
    try:
        receipt = _message_send(session, mime, recipient)
    finally:
        _quietly_close(session.smtp)
    return _with_relay(receipt, route.via_relay)


def _with_relay(receipt: TlsReceipt, via_relay: bool) -> TlsReceipt:
    if not via_relay:
        return receipt
    return replace(receipt, via_relay=True)


def deliver_many(
    items: Iterable[tuple[Message | DjangoEmail, str]],
    *,
    resolve_mx: ResolveMx | None = None,
    port: int = 25,
    ssl_context: ssl.SSLContext | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    resolve_address: ResolveAddress | None = None,
    relay: str | None = None,
) -> list[TlsReceipt | TlsDeliveryError]:
    """``deliver_verified`` for many messages, one verified session per recipient domain.

    The TLS handshake and certificate check are most of the cost of a small message
    (see bench/tls_delivery_bench.py), so messages to one domain (or all of them, through
    a relay) share a session. The result is in the order of ``items``: a receipt, or
    the error for that message. A refused message does not stop the others (smtplib
    resets the transaction); a session that breaks fails the rest of its domain.
    """
    pending = list(items)
    context = _context_check(ssl_context) if ssl_context else verified_context()
    by_domain: dict[str, list[int]] = {}
    results: list[TlsReceipt | TlsDeliveryError | None] = [None] * len(pending)
    relayed = relay_parse(settings.EMAIL_TLS_RELAY if relay is None else relay)
    for index, (_, recipient) in enumerate(pending):
        # Through a relay every domain takes the same path: one session for all.
        key = "" if relayed else _recipient_domain(recipient).lower()
        by_domain.setdefault(key, []).append(index)
    for domain, indexes in by_domain.items():
        try:
            route = _route(domain, resolve_mx=resolve_mx, port=port, relay=relay)
            session = _session_first(
                route, context=context, resolve_address=resolve_address, timeout=timeout
            )
        except TlsUnavailable as error:
            for index in indexes:
                results[index] = error
            continue
        broken: TlsDeliveryError | None = None
        try:
            for index in indexes:
                message, recipient = pending[index]
                if broken:
                    results[index] = broken
                    continue
                try:
                    results[index] = _with_relay(
                        _message_send(session, _mime(message), recipient), route.via_relay
                    )
                except TlsUnavailable as error:
                    broken = results[index] = error
                except TlsSmtpRefusal as error:
                    results[index] = error
        finally:
            _quietly_close(session.smtp)
    return [result for result in results if result is not None]
