"""PAdES signatures on record packages, and the self-signed certificate of the demo.

The package is signed as a PAdES baseline signature (CMS detached, subfilter
``/ETSI.CAdES.detached``) with the organisation's certificate, so anyone can check in
their PDF reader's signature panel that the copy was not altered after it left us
(45 CFR 164.312(c)(1), integrity). It is a certification signature that allows no
changes: a reader reports any later edit, even an added comment.

The signer is loaded once per process from ``RECORDS_SIGNING_CERT_FILE`` and
``RECORDS_SIGNING_KEY_FILE`` (a rotated certificate takes effect at the next restart).
Demo and test mode fall back to a self-signed certificate under ``var/records-signing/``,
made on first use or by ``manage.py records_demo_certificate``; production refuses to
start without its own (``config/settings.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import io
import logging
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.core import checks

from support.env import ConfigError

T = TypeVar("T")

logger = logging.getLogger(__name__)

SIGNATURE_REASON = "Copy of records (45 CFR 164.524)"
SIGNATURE_FIELD = "RecordsPackageSignature"
DEMO_CERT_NAME, DEMO_KEY_NAME = "demo-cert.pem", "demo-key.pem"
DEMO_VALIDITY = timedelta(days=5 * 365)
# A demo certificate this close to its end is replaced rather than kept.
DEMO_RENEW_BEFORE = timedelta(days=30)


@dataclass(frozen=True)
class SignatureStatus:
    """What a validator says about the package's (last) signature.

    ``intact``: the signed bytes are unchanged. ``valid``: intact, cryptographically
    sound, made by a certificate among the trusted ones, and nothing disallowed was
    added after signing.
    """

    intact: bool
    valid: bool
    signer: str
    signed_at: datetime | None


@dataclass(frozen=True)
class _Signer:
    signer: Any  # pyhanko.sign.signers.SimpleSigner
    name: str
    not_after: datetime


def package_sign(
    pdf: bytes, *, reason: str = SIGNATURE_REASON, field_name: str = SIGNATURE_FIELD
) -> bytes:
    """The package with the organisation's PAdES signature appended (incremental update).

    Other signed documents of the organisation (the evidence pack's report) name their
    own ``reason`` and signature field."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    loaded = _signer_get()
    if loaded.not_after <= datetime.now(UTC):
        raise ConfigError("RECORDS_SIGNING_CERT_FILE holds a certificate that has expired")
    metadata = signers.PdfSignatureMetadata(
        field_name=field_name,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason,
        location=settings.ORGANISATION_NAME,
        name=loaded.name,
        certify=True,
        docmdp_permissions=fields.MDPPerm.NO_CHANGES,
    )
    # Lenient reading: pypdf wrote the file, but it keeps oddities of the uploaded sources
    # (duplicate keys, loose numbers) that strict mode refuses; the signature covers the
    # bytes as they are either way.
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    out = io.BytesIO()
    _outside_event_loop(
        lambda: signers.PdfSigner(metadata, signer=loaded.signer).sign_pdf(writer, output=out)
    )
    return out.getvalue()


def _outside_event_loop(call: Callable[[], T]) -> T:
    """Run pyHanko's synchronous API, which starts its own event loop (``asyncio.run``),
    in a worker thread when this thread already runs one (an ASGI server, a browser
    driver in the tests); directly otherwise."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return call()
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call).result()


def signature_status(pdf: bytes, *, trust: list[bytes]) -> SignatureStatus:
    """Validate the last signature with pyHanko, trusting only ``trust`` (PEM or DER).

    No network: revocation is not fetched (a self-signed or private certificate has no
    responder). A file that does not parse, or holds no signature, is neither.
    """
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    roots = [asn1_x509.Certificate.load(_trusted_der(data)) for data in trust]
    context = ValidationContext(trust_roots=roots, allow_fetching=False)
    try:
        embedded = PdfFileReader(io.BytesIO(pdf), strict=False).embedded_signatures
        if not embedded:
            return SignatureStatus(intact=False, valid=False, signer="", signed_at=None)
        status = _outside_event_loop(lambda: validate_pdf_signature(embedded[-1], context))
    except Exception as error:  # a damaged file fails in the parser, in many ways
        logger.info("record package signature unreadable (%s)", type(error).__name__)
        return SignatureStatus(intact=False, valid=False, signer="", signed_at=None)
    subject = status.signing_cert.subject.native
    return SignatureStatus(
        intact=bool(status.intact),
        valid=bool(status.bottom_line),
        signer=str(subject.get("common_name") or status.signing_cert.subject.human_friendly),
        signed_at=status.signer_reported_dt,
    )


def _trusted_der(data: bytes) -> bytes:
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificate(data).public_bytes(_DER)
        return x509.load_der_x509_certificate(data).public_bytes(_DER)
    except ValueError:
        raise ValueError("a trusted certificate is neither PEM nor DER") from None


def signer_reset() -> None:
    """Forget the loaded signer (tests, or after replacing the files in a running shell)."""
    _signer_load.cache_clear()


def _signer_get() -> _Signer:
    return _signer_load(
        settings.RECORDS_SIGNING_CERT_FILE,
        settings.RECORDS_SIGNING_KEY_FILE,
        settings.RECORDS_SIGNING_KEY_PASSWORD,
    )


@functools.lru_cache(maxsize=4)
def _signer_load(cert_file: str, key_file: str, password: str) -> _Signer:
    from pyhanko.sign.signers import SimpleSigner
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    if not settings.PRODUCTION and _is_demo_pair(cert_file, key_file):
        demo_certificate_ensure(directory=Path(cert_file).parent)
    chain = _certificates(_read(cert_file, "RECORDS_SIGNING_CERT_FILE"))
    certificate = chain[0]
    key = _private_key(_read(key_file, "RECORDS_SIGNING_KEY_FILE"), password)
    if key.public_key().public_bytes(_DER, _SPKI) != certificate.public_key().public_bytes(
        _DER, _SPKI
    ):
        raise ConfigError(
            "RECORDS_SIGNING_KEY_FILE does not hold the key of the RECORDS_SIGNING_CERT_FILE "
            "certificate"
        )
    # Intermediate certificates after the first go into the signature, so a reader can
    # build the path to a root it trusts.
    registry = SimpleCertificateStore()
    registry.register_multiple(
        [asn1_x509.Certificate.load(extra.public_bytes(_DER)) for extra in chain[1:]]
    )
    signer = _held_key_signer_class(SimpleSigner)(
        signing_cert=asn1_x509.Certificate.load(certificate.public_bytes(_DER)),
        signing_key=asn1_keys.PrivateKeyInfo.load(
            key.private_bytes(_DER, serialization.PrivateFormat.PKCS8, _NO_ENCRYPTION)
        ),
        cert_registry=registry,
    )
    signer.held_key = key
    return _Signer(
        signer=signer,
        name=_common_name(certificate),
        not_after=certificate.not_valid_after_utc,
    )


def _held_key_signer_class(base: Any) -> Any:
    """pyHanko's ``SimpleSigner`` with the key kept parsed.

    ``SimpleSigner`` parses the private key again for every raw signature, twice per
    package (a size estimate, then the signature): with RSA-3072, OpenSSL's key check
    makes that about 0.17 s each. The common mechanisms sign with the key loaded once;
    anything else (PSS, EdDSA) goes through pyHanko as before.
    """

    class HeldKeySigner(base):
        held_key: Any = None

        def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
            mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)
            try:
                family = mechanism.signature_algo  # "rsassa_pkcs1v15", "ecdsa", ...
            except ValueError:
                family = None
            algorithm, key = _HASHES.get(digest_algorithm), self.held_key
            if algorithm is None:
                return bytes(super().sign_raw(data, digest_algorithm))
            if family == "rsassa_pkcs1v15" and isinstance(key, rsa.RSAPrivateKey):
                return bytes(key.sign(data, padding.PKCS1v15(), algorithm()))
            if family == "ecdsa" and isinstance(key, ec.EllipticCurvePrivateKey):
                return bytes(key.sign(data, ec.ECDSA(algorithm())))
            return bytes(super().sign_raw(data, digest_algorithm))

    return HeldKeySigner


_HASHES: dict[str, Any] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


def _is_demo_pair(cert_file: str, key_file: str) -> bool:
    demo = Path(settings.RECORDS_DEMO_SIGNING_DIR)
    return Path(cert_file) == demo / DEMO_CERT_NAME and Path(key_file) == demo / DEMO_KEY_NAME


def _read(path: str, variable: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError:
        raise ConfigError(f"{variable} names a file that cannot be read") from None


def _certificates(data: bytes) -> list[x509.Certificate]:
    try:
        if b"-----BEGIN" in data:
            chain = x509.load_pem_x509_certificates(data)
        else:
            chain = [x509.load_der_x509_certificate(data)]
    except ValueError:
        raise ConfigError("RECORDS_SIGNING_CERT_FILE does not hold a certificate") from None
    return chain


def _private_key(data: bytes, password: str) -> Any:
    secret = password.encode() if password else None
    loader = (
        serialization.load_pem_private_key
        if b"-----BEGIN" in data
        else serialization.load_der_private_key
    )
    try:
        return loader(data, password=secret)
    except TypeError:  # encrypted without a password, or a password for a plain key
        raise ConfigError(
            "RECORDS_SIGNING_KEY_PASSWORD does not match RECORDS_SIGNING_KEY_FILE "
            "(missing for an encrypted key, or set for a plain one)"
        ) from None
    except ValueError:
        raise ConfigError(
            "RECORDS_SIGNING_KEY_FILE does not hold a private key this password opens"
        ) from None


def _common_name(certificate: x509.Certificate) -> str:
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else certificate.subject.rfc4514_string()


_DER = serialization.Encoding.DER
_SPKI = serialization.PublicFormat.SubjectPublicKeyInfo
_NO_ENCRYPTION = serialization.NoEncryption()


# --- the demo certificate ------------------------------------------------------------------


@dataclass(frozen=True)
class DemoCertificate:
    cert_path: Path
    key_path: Path
    created: bool
    fingerprint: str  # SHA-256, hex with colons, as readers show it


def demo_certificate_ensure(*, directory: Path | None = None) -> DemoCertificate:
    """A self-signed signing certificate for the demo, made once (idempotent).

    Kept while it is readable, matches its key, names ``ORGANISATION_NAME`` and has more
    than 30 days left; otherwise replaced. The key file is 0600 in a 0700 directory.
    Never in production: there the organisation's own certificate is configured.
    """
    if settings.PRODUCTION:
        raise ConfigError(
            "a self-signed demo certificate is never used in production: set "
            "RECORDS_SIGNING_CERT_FILE and RECORDS_SIGNING_KEY_FILE"
        )
    directory = Path(directory or settings.RECORDS_DEMO_SIGNING_DIR)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    cert_path, key_path = directory / DEMO_CERT_NAME, directory / DEMO_KEY_NAME
    organisation = settings.ORGANISATION_NAME
    with _locked(directory / ".lock"):
        current = _demo_current(cert_path, key_path, organisation)
        if current is not None:
            return DemoCertificate(cert_path, key_path, created=False, fingerprint=current)
        key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
        certificate = self_signed_certificate(key=key, common_name=organisation)
        _write_atomically(
            key_path,
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, _NO_ENCRYPTION
            ),
        )
        _write_atomically(
            cert_path, certificate.public_bytes(serialization.Encoding.PEM), mode=0o644
        )
    return DemoCertificate(cert_path, key_path, created=True, fingerprint=_fingerprint(certificate))


def self_signed_certificate(
    *, key: Any, common_name: str, validity: timedelta = DEMO_VALIDITY
) -> x509.Certificate:
    """A self-signed document-signing certificate (the demo's; tests make their own).

    Like ``openssl req -x509``, it is its own issuer and so marked as a CA (path length
    0) with keyCertSign: NSS-based readers (poppler's pdfsig, Firefox, Thunderbird) then
    report it as "not trusted" and can be told to trust it; as a plain end-entity
    certificate they report only "issuer unknown". No extended key usage: NSS checks
    document signatures for the e-mail-signing usage and refuses a certificate whose
    EKU list lacks it, and pyHanko's validator requires none.
    """
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    public = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + validity)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,  # nonRepudiation
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )


def _demo_current(cert_path: Path, key_path: Path, organisation: str) -> str | None:
    """The fingerprint of a demo certificate worth keeping, or None."""
    try:
        certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError):
        return None
    matches = key.public_key().public_bytes(_DER, _SPKI) == certificate.public_key().public_bytes(
        _DER, _SPKI
    )
    fresh = certificate.not_valid_after_utc - datetime.now(UTC) > DEMO_RENEW_BEFORE
    if matches and fresh and _common_name(certificate) == organisation:
        return _fingerprint(certificate)
    return None


def _write_atomically(path: Path, data: bytes, *, mode: int = 0o600) -> None:
    """Replace ``path`` by a new file created with ``mode``: a key is never readable by
    others, even briefly, and a reader never sees half a file."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    os.chmod(temporary, mode)  # the umask may have narrowed it; never widened it
    os.replace(temporary, path)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _fingerprint(certificate: x509.Certificate) -> str:
    return certificate.fingerprint(hashes.SHA256()).hex(":").upper()


# --- start-up check ------------------------------------------------------------------------


def signing_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """``check --deploy``: the configured certificate and key load, match, and are current."""
    if not settings.PRODUCTION:
        return []
    try:
        loaded = _signer_get()
    except ConfigError as error:
        return [
            checks.Error(
                str(error),
                hint="RECORDS_SIGNING_CERT_FILE and RECORDS_SIGNING_KEY_FILE name PEM or DER "
                "files; RECORDS_SIGNING_KEY_PASSWORD (or _FILE) opens an encrypted key.",
                id="records.E001",
            )
        ]
    left = loaded.not_after - datetime.now(UTC)
    if left <= timedelta(0):
        return [
            checks.Error(
                "RECORDS_SIGNING_CERT_FILE holds a certificate that has expired",
                hint="Renew the organisation's document-signing certificate.",
                id="records.E002",
            )
        ]
    if left < timedelta(days=30):
        return [
            checks.Warning(
                f"the record-package signing certificate expires in {left.days} days",
                hint="Renew the organisation's document-signing certificate.",
                id="records.W001",
            )
        ]
    return []
