"""Guest pickup, the recipient's side: open the link, bind the browser, the code, the package.

Every step asks the disclosure decision again (``guests.package_refusal``), so a revocation
or an authorization's expiry takes effect at once (45 CFR 164.508(b)(5)). A link that
names no package is only logged; refusals about a real package are audited.
"""

import logging
import secrets
import uuid
from collections.abc import Mapping, MutableMapping
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from audit.models import Outcome
from audit.services import event_record
from messaging.actions import MessagingAction
from messaging.errors import MessagingError
from messaging.guests import (
    _LINK_SALT,
    CODE_RESEND_INTERVAL,
    MAX_CODE_ATTEMPTS,
    SESSION_PACKAGE,
    SESSION_SEEN,
    SESSION_VERIFIED,
    GuestCodeRefused,
    GuestRefused,
    _code_hash,
    _sha256,
    package_refusal,
    pickup_days,
)
from messaging.models import GuestAttachment, GuestPackage

logger = logging.getLogger(__name__)


def _refused(code: str, package: GuestPackage | None = None, step: str = "") -> GuestRefused:
    """Audit a refusal (outside any transaction that the raise would roll back).

    A link that names no package is only logged: anyone can send garbage to a public
    URL, and the append-only trail must not be theirs to grow."""
    if package is None:
        logger.info("guest pickup refused: %s at %s", code, step or "link")
        return GuestRefused(code)
    event_record(
        action=MessagingAction.GUEST_LINK_REFUSED,
        outcome=Outcome.DENIED,
        target=package,
        target_type="" if package is not None else "messaging.guestpackage",
        patient_id=package.patient_id if package is not None else None,
        details={"reason": code, "step": step},
    )
    return GuestRefused(code)


def guest_link_open(*, token: str, browser_key: str, bind: bool = True) -> GuestPackage:
    """Check the link and bind it to this browser on first use; raise ``GuestRefused``.

    The first opening stamps ``link_opened_at`` and keeps the hash of ``browser_key``
    (a random key the view keeps in a cookie of this browser); any later opening
    needs the same key. Reopening in the same browser is fine. With ``bind=False`` the
    link is only checked: a mail scanner fetching the link does not use it up.
    """
    max_age = timedelta(days=pickup_days(), hours=1)
    try:
        payload = signing.loads(token, salt=_LINK_SALT, max_age=max_age)
    except signing.SignatureExpired:
        raise _refused("expired", step="link") from None
    except signing.BadSignature:
        raise _refused("invalid", step="link") from None
    try:
        package_id = uuid.UUID(str(payload.get("g", "")))
    except ValueError:
        raise _refused("invalid", step="link") from None
    package = GuestPackage.objects.filter(pk=package_id).first()
    if package is None or not secrets.compare_digest(
        package.link_hash, _sha256(str(payload.get("n", "")))
    ):
        raise _refused("invalid", step="link")
    reason = package_refusal(package)
    if reason is not None:
        raise _refused(reason, package, step="link")
    browser_hash = _sha256(browser_key)
    if not bind:
        if package.link_opened_at is not None and not secrets.compare_digest(
            package.browser_hash, browser_hash
        ):
            raise _refused("used", package, step="link")
        return package
    now = timezone.now()
    first = GuestPackage.objects.filter(pk=package.pk, link_opened_at__isnull=True).update(
        link_opened_at=now, browser_hash=browser_hash
    )
    package.refresh_from_db(fields=["browser_hash", "link_opened_at"])
    if not first and not secrets.compare_digest(package.browser_hash, browser_hash):
        raise _refused("used", package, step="link")
    event_record(
        action=MessagingAction.GUEST_LINK_OPENED,
        target=package,
        patient_id=package.patient_id,
        details={"first": bool(first)},
    )
    return package


def guest_session_bind(session: MutableMapping[str, Any], package: GuestPackage) -> None:
    """The session now concerns this one package (another package's access is dropped)."""
    if session.get(SESSION_PACKAGE) != str(package.pk):
        session.pop(SESSION_VERIFIED, None)
    session[SESSION_PACKAGE] = str(package.pk)


def guest_package_bound(
    *, session: Mapping[str, Any], browser_key: str, step: str = "code"
) -> GuestPackage:
    """The package this session and browser opened, if it may still be opened."""
    package = _session_package(session, browser_key)
    reason = package_refusal(package)
    if reason is not None:
        raise _refused(reason, package, step=step)
    return package


def _session_package(session: Mapping[str, Any], browser_key: str) -> GuestPackage:
    package_id = session.get(SESSION_PACKAGE)
    package = GuestPackage.objects.filter(pk=package_id).first() if package_id else None
    if (
        package is None
        or not package.browser_hash
        or not secrets.compare_digest(package.browser_hash, _sha256(browser_key))
    ):
        raise GuestRefused("no_access")
    return package


def guest_package_for(*, session: MutableMapping[str, Any], browser_key: str) -> GuestPackage:
    """The access check of every guest page and download: this browser opened the link,
    this session verified a code, and the package may still be opened (not expired,
    recalled or locked, and the decision still allows it). ``GuestRefused`` otherwise;
    code ``unverified`` (a MessagingError) means "ask for the code first"."""
    package = _session_package(session, browser_key)
    reason = package_refusal(package)
    if reason is not None:
        raise _refused(reason, package, step="package")
    now = timezone.now().timestamp()
    seen = session.get(SESSION_SEEN, 0)
    if session.get(SESSION_VERIFIED) != str(package.pk) or now - seen > (
        settings.SESSION_IDLE_TIMEOUT
    ):
        # Idle for too long: the same limit as a signed-in session; a new code reopens it.
        session.pop(SESSION_VERIFIED, None)
        raise MessagingError("unverified", gettext("Enter the code we e-mail you first."))
    session[SESSION_SEEN] = now
    return package


def guest_code_request(*, package: GuestPackage) -> None:
    """E-mail a new code to the recipient's address, at most once a minute."""
    reason = package_refusal(package)
    if reason is not None:
        raise _refused(reason, package, step="code_request")
    now = timezone.now()
    with transaction.atomic():
        claimed = (
            GuestPackage.objects.filter(pk=package.pk, link_opened_at__isnull=False)
            .exclude(code_sent_at__gt=now - CODE_RESEND_INTERVAL)
            .update(code_sent_at=now)
        )
        if not claimed:
            raise MessagingError(
                "too_soon",
                gettext("A code was sent less than a minute ago. Check your e-mail."),
            )
        from messaging.tasks import guest_code_send

        package_id = str(package.pk)
        transaction.on_commit(lambda: guest_code_send.delay(package_id), robust=True)


def guest_code_verify(
    *, session: MutableMapping[str, Any], package: GuestPackage, code: str
) -> GuestPackage:
    """Check ``code`` (hashed, constant time). Five wrong codes in total lock the link
    for good. On success this session, and only this one, may see the package."""
    reason = package_refusal(package)
    if reason is not None:
        raise _refused(reason, package, step="code")
    outcome, attempts = _code_check(package.pk, code)
    if outcome == "locked":
        raise _refused("locked", package, step="code")
    left = MAX_CODE_ATTEMPTS - attempts
    if outcome == "expired":
        raise GuestCodeRefused(
            "code_expired",
            gettext("This code has expired or was replaced. Send a new one."),
            left,
        )
    if outcome == "wrong":
        message = ngettext(
            "That code is not right. %(left)d try left.",
            "That code is not right. %(left)d tries left.",
            left,
        ) % {"left": left}
        raise GuestCodeRefused("code_wrong", message, left)
    session[SESSION_PACKAGE] = session[SESSION_VERIFIED] = str(package.pk)
    session[SESSION_SEEN] = timezone.now().timestamp()
    package.refresh_from_db()
    return package


@transaction.atomic
def _code_check(package_id: Any, code: str) -> tuple[str, int]:
    """One attempt under the row lock, so parallel guesses cannot exceed the limit."""
    package = GuestPackage.objects.select_for_update().get(pk=package_id)
    now = timezone.now()
    if package.locked_at is not None:
        return "locked", package.code_attempts
    if not package.code_hash or package.code_expires_at is None or package.code_expires_at <= now:
        return "expired", package.code_attempts
    if secrets.compare_digest(package.code_hash, _code_hash(package.pk, code)):
        package.code_hash, package.code_expires_at = "", None  # a code works once
        package.verified_at = package.verified_at or now
        package.save(update_fields=["code_hash", "code_expires_at", "verified_at"])
        event_record(
            action=MessagingAction.GUEST_CODE_VERIFIED,
            target=package,
            patient_id=package.patient_id,
        )
        return "ok", package.code_attempts
    package.code_attempts += 1
    fields = ["code_attempts"]
    event_record(
        action=MessagingAction.GUEST_CODE_FAILED,
        outcome=Outcome.DENIED,
        target=package,
        patient_id=package.patient_id,
        details={"attempts": package.code_attempts},
    )
    if package.code_attempts >= MAX_CODE_ATTEMPTS:
        package.locked_at, package.code_hash = now, ""
        fields += ["locked_at", "code_hash"]
        event_record(
            action=MessagingAction.GUEST_LOCKED,
            outcome=Outcome.DENIED,
            target=package,
            patient_id=package.patient_id,
            details={"attempts": package.code_attempts},
        )
    package.save(update_fields=fields)
    return ("locked" if package.locked_at else "wrong"), package.code_attempts


def guest_package_view_record(*, package: GuestPackage) -> None:
    """Each view is in the patient's access log (the actor is the anonymous guest)."""
    now = timezone.now()
    GuestPackage.objects.filter(pk=package.pk, first_viewed_at__isnull=True).update(
        first_viewed_at=now
    )
    event_record(
        action=MessagingAction.GUEST_PACKAGE_VIEWED, target=package, patient_id=package.patient_id
    )


def guest_attachment_for(*, package: GuestPackage, attachment_id: str) -> GuestAttachment:
    """An attachment of this package only; anything else does not exist (404)."""
    try:
        pk = uuid.UUID(attachment_id)
    except ValueError:
        raise Http404 from None
    found = package.attachments.select_related("file__data_key").filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


def guest_attachment_download_record(*, attachment: GuestAttachment, patient_id: int) -> None:
    event_record(
        action=MessagingAction.GUEST_ATTACHMENT_DOWNLOADED,
        target=attachment,
        patient_id=patient_id,
        details={"package_id": str(attachment.package_id)},
    )
